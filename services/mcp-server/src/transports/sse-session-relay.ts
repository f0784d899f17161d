import { type Identity, identityKey } from '@mcp-broker/contracts';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RequestContext } from '../protocol/request-context.ts';

export type LocalDelivery = (message: JSONRPCMessage, context: RequestContext) => Promise<void>;

export interface SseSessionRelayOptions {
  /** Connection for commands (GET/SET/PUBLISH). */
  redis: Redis;
  /** Dedicated connection in subscriber mode. */
  subscriber: Redis;
  keyPrefix: string;
  /** How long a session's ownership record outlives its last keep-alive. */
  ttlSeconds: number;
  logger: Logger;
}

/**
 * Lets legacy SSE sessions work behind a load balancer without sticky sessions: the replica that
 * holds a session's stream subscribes to its channel; a POST that lands on another replica is
 * published there. Redis also records which identity (issuer and subject) owns each session, so one
 * caller can never post into another's session, even one with the same subject from another issuer.
 */
export class SseSessionRelay {
  readonly #o: SseSessionRelayOptions;
  readonly #local = new Map<string, LocalDelivery>();

  constructor(options: SseSessionRelayOptions) {
    this.#o = options;
    options.subscriber.on('message', (channel: string, payload: string) => {
      const sessionId = channel.slice(this.#channelPrefix.length);
      const deliver = this.#local.get(sessionId);
      if (!deliver) return;
      try {
        const { message, context } = JSON.parse(payload) as { message: JSONRPCMessage; context: RequestContext };
        deliver(message, context).catch((err: unknown) =>
          this.#o.logger.warn({ err, requestId: context.requestId }, 'relayed SSE message rejected'),
        );
      } catch (err) {
        this.#o.logger.warn({ err }, 'unreadable relayed SSE message');
      }
    });
  }

  get #channelPrefix() {
    return `${this.#o.keyPrefix}sse:msg:`;
  }

  #ownerKey(sessionId: string) {
    return `${this.#o.keyPrefix}sse:owner:${sessionId}`;
  }

  async open(sessionId: string, owner: Pick<Identity, 'issuer' | 'subject'>, deliver: LocalDelivery): Promise<void> {
    this.#local.set(sessionId, deliver);
    await this.#o.subscriber.subscribe(this.#channelPrefix + sessionId);
    await this.#o.redis.set(this.#ownerKey(sessionId), identityKey(owner), 'EX', this.#o.ttlSeconds);
  }

  async touch(sessionId: string): Promise<void> {
    await this.#o.redis.expire(this.#ownerKey(sessionId), this.#o.ttlSeconds);
  }

  /** True when a live session has this id and this identity opened it. */
  async isOwner(sessionId: string, identity: Pick<Identity, 'issuer' | 'subject'>): Promise<boolean> {
    return (await this.#o.redis.get(this.#ownerKey(sessionId))) === identityKey(identity);
  }

  /** Delivers to the session wherever it lives; false when no replica holds it any more. */
  async deliver(sessionId: string, message: JSONRPCMessage, context: RequestContext): Promise<boolean> {
    const local = this.#local.get(sessionId);
    if (local) {
      await local(message, context);
      return true;
    }
    const receivers = await this.#o.redis.publish(
      this.#channelPrefix + sessionId,
      JSON.stringify({ message, context }),
    );
    return receivers > 0;
  }

  async close(sessionId: string): Promise<void> {
    if (!this.#local.delete(sessionId)) return;
    await Promise.allSettled([
      this.#o.subscriber.unsubscribe(this.#channelPrefix + sessionId),
      this.#o.redis.del(this.#ownerKey(sessionId)),
    ]);
  }

  get localSessionCount(): number {
    return this.#local.size;
  }
}

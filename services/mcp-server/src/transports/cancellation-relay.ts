import type { Identity } from '@mcp-broker/contracts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { requestIdentityKey } from '../governance/request-identity-key.ts';

export interface CancellationRelayOptions {
  redis: Redis;
  /** Subscriber-mode connection (shared with the SSE relay). */
  subscriber: Redis;
  keyPrefix: string;
  logger: Logger;
}

type RequestId = string | number;

/**
 * Stateless Streamable HTTP sends `notifications/cancelled` as its own POST, which may land on a
 * replica other than the one running the call. Every replica listens on one channel and aborts
 * the matching in-flight call. Calls are keyed by (identity key, JSON-RPC id), the identity key
 * covering issuer and subject: a caller can only cancel its own calls, never those of an equal
 * subject from another issuer. Only the key travels on the channel.
 */
export class CancellationRelay {
  readonly #o: CancellationRelayOptions;
  // Several calls of one identity can share a JSON-RPC id (ids are per client connection);
  // such a cancellation is ambiguous and aborts nothing rather than the wrong call.
  readonly #inFlight = new Map<string, Set<() => void>>();

  constructor(options: CancellationRelayOptions) {
    this.#o = options;
    // Subscribed once, in the background: while Redis is away, calls still run and can still be
    // cancelled on the replica that holds them; only cross-replica cancellation waits for Redis.
    options.subscriber
      .subscribe(this.#channel)
      .catch((err: unknown) => options.logger.warn({ err }, 'cancellation channel subscription failed'));
    options.subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.#channel) return;
      try {
        const { owner, requestId } = JSON.parse(payload) as { owner: string; requestId: RequestId };
        this.#abortUnambiguous(owner, requestId);
      } catch (err) {
        this.#o.logger.warn({ err }, 'unreadable cancellation message');
      }
    });
  }

  get #channel() {
    return `${this.#o.keyPrefix}mcp:cancel`;
  }

  /** Registers an in-flight call; returns the function that unregisters it. */
  track(identity: Pick<Identity, 'issuer' | 'subject'>, requestId: RequestId, cancel: () => void): () => void {
    const k = key(requestIdentityKey(identity), requestId);
    const set = this.#inFlight.get(k) ?? new Set();
    set.add(cancel);
    this.#inFlight.set(k, set);
    return () => {
      set.delete(cancel);
      if (set.size === 0 && this.#inFlight.get(k) === set) this.#inFlight.delete(k);
    };
  }

  /** Aborts the call when exactly one in-flight call has this (owner, id); true when handled here. */
  #abortUnambiguous(owner: string, requestId: RequestId): boolean {
    const set = this.#inFlight.get(key(owner, requestId));
    if (!set || set.size === 0) return false;
    if (set.size > 1) {
      this.#o.logger.info({ requestId }, 'ambiguous cancellation ignored (several calls share this id)');
      return true;
    }
    for (const cancel of set) cancel();
    return true;
  }

  async cancel(identity: Pick<Identity, 'issuer' | 'subject'>, requestId: RequestId): Promise<void> {
    const owner = requestIdentityKey(identity);
    if (this.#abortUnambiguous(owner, requestId)) return;
    try {
      await this.#o.redis.publish(this.#channel, JSON.stringify({ owner, requestId }));
    } catch (err) {
      this.#o.logger.warn({ err }, 'cancellation could not be relayed to other replicas');
    }
  }
}

function key(owner: string, requestId: RequestId): string {
  return `${owner}\u0000${JSON.stringify(requestId)}`;
}

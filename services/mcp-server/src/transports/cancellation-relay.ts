import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

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
 * the matching in-flight call. Calls are keyed by (subject, JSON-RPC id): a caller can only cancel
 * its own calls.
 */
export class CancellationRelay {
  readonly #o: CancellationRelayOptions;
  readonly #inFlight = new Map<string, () => void>();

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
        const { subject, requestId } = JSON.parse(payload) as { subject: string; requestId: RequestId };
        this.#inFlight.get(key(subject, requestId))?.();
      } catch (err) {
        this.#o.logger.warn({ err }, 'unreadable cancellation message');
      }
    });
  }

  get #channel() {
    return `${this.#o.keyPrefix}mcp:cancel`;
  }

  /** Registers an in-flight call; returns the function that unregisters it. */
  track(subject: string, requestId: RequestId, cancel: () => void): () => void {
    const k = key(subject, requestId);
    this.#inFlight.set(k, cancel);
    return () => {
      if (this.#inFlight.get(k) === cancel) this.#inFlight.delete(k);
    };
  }

  async cancel(subject: string, requestId: RequestId): Promise<void> {
    const local = this.#inFlight.get(key(subject, requestId));
    if (local) {
      local();
      return;
    }
    try {
      await this.#o.redis.publish(this.#channel, JSON.stringify({ subject, requestId }));
    } catch (err) {
      this.#o.logger.warn({ err }, 'cancellation could not be relayed to other replicas');
    }
  }
}

function key(subject: string, requestId: RequestId): string {
  return `${subject}\u0000${JSON.stringify(requestId)}`;
}

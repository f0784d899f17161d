import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The cancel channel: Redis pub/sub from ingress (a caller cancels a running call) to every worker
 * replica (the one running it aborts). The message is the call's id, nothing else. Both ends live
 * here so the channel name and the message cannot drift apart.
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}broker:cancel`;
}

/** Tells the replica running the call, if any, to abort it. Pub/sub: no replica running it, no effect. */
export async function publishCancel(redis: Redis, prefix: string, callId: string): Promise<void> {
  await redis.publish(cancelChannel(prefix), callId);
}

/**
 * Aborts the local run of a call when ingress publishes its cancellation. Every worker replica
 * listens; only the one running the call has it registered.
 */
export class CancellationListener {
  readonly #running = new Map<string, AbortController>();

  constructor(subscriber: Redis, prefix: string, logger: Logger) {
    const channel = cancelChannel(prefix);
    subscriber.subscribe(channel).catch((err: unknown) => logger.warn({ err }, 'cancel channel subscription failed'));
    subscriber.on('message', (ch: string, callId: string) => {
      if (ch === channel) this.#running.get(callId)?.abort(new Error('cancelled by the caller'));
    });
  }

  register(callId: string): { signal: AbortSignal; release(): void } {
    const controller = new AbortController();
    this.#running.set(callId, controller);
    return {
      signal: controller.signal,
      release: () => {
        if (this.#running.get(callId) === controller) this.#running.delete(callId);
      },
    };
  }

  get runningCount(): number {
    return this.#running.size;
  }
}

import { cancelMessageSchema } from '@mcp-broker/contracts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The cancel channel: Redis pub/sub from ingress (a caller cancels a running call) to every worker
 * replica (the one running it aborts). The message is the call's id, nothing else
 * (`cancelMessageSchema` in contracts). Both ends live here so the channel name and the message
 * cannot drift apart.
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}broker:cancel`;
}

/** Tells the replica running the call, if any, to abort it. Pub/sub: no replica running it, no effect. */
export async function publishCancel(redis: Redis, prefix: string, callId: string): Promise<void> {
  await redis.publish(cancelChannel(prefix), cancelMessageSchema.parse(callId));
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
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      const parsed = cancelMessageSchema.safeParse(message);
      if (!parsed.success) {
        // Not from ingress: nothing to abort, and no reason to stop listening. Only the length is
        // logged: the text is whatever someone published.
        logger.warn(
          { channel, length: message.length, problem: parsed.error.issues[0]?.message },
          'malformed cancel message ignored',
        );
        return;
      }
      this.#running.get(parsed.data)?.abort(new Error('cancelled by the caller'));
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

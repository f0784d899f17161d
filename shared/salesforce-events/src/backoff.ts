import { Backoff, raceAbort } from '@mcp-broker/resilience';

/** A reconnect backoff as connectors configure it. */
export interface BackoffOptions {
  /** First delay. Default 1,000 ms. */
  initialMs?: number;
  /** Largest delay. Default 30,000 ms. */
  maxMs?: number;
}

/**
 * The shared formula with equal jitter (between half and all of the delay): one reconnecting
 * client should neither hammer the org nor retry at once.
 */
export function reconnectBackoff(options: BackoffOptions = {}): Backoff {
  return new Backoff({ baseDelayMs: options.initialMs ?? 1_000, maxDelayMs: options.maxMs ?? 30_000, jitter: 'equal' });
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `promise`'s value, or `undefined` as soon as `signal` aborts (the promise is left to settle unobserved). */
export async function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  try {
    return await raceAbort(promise, { signal });
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
}

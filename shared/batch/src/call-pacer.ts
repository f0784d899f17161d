/**
 * Spaces the run's calls so that it never starts more than `callsPerMinute`: one call every
 * 60,000 / callsPerMinute ms. Even spacing, rather than a burst at the top of each minute, is what
 * keeps a large run from taking the caller's whole per-minute budget at once.
 */
export class CallPacer {
  readonly #intervalMs: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #next = 0;

  constructor(callsPerMinute: number, sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep) {
    this.#intervalMs = 60_000 / callsPerMinute;
    this.#sleep = sleep;
  }

  async wait(signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#intervalMs;
    if (at > now) await this.#sleep(at - now, signal);
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface AbortRaceOptions {
  /** Give up as soon as this aborts. */
  signal?: AbortSignal | undefined;
  /** Give up after this many ms. */
  timeoutMs?: number | undefined;
  /** What to reject with when `signal` aborts. Default: the signal's reason. */
  onAbort?: () => unknown;
  /** What to reject with when `timeoutMs` passes. Default: a `TimeoutError`. */
  onTimeout?: () => unknown;
}

/**
 * Settles with `work`, or rejects as soon as `signal` aborts or `timeoutMs` passes, whichever comes
 * first. The work itself is not stopped (other waiters may still need it, or it takes no signal):
 * its later rejection is observed so it is never reported as unhandled.
 */
export function raceAbort<T>(work: Promise<T>, options: AbortRaceOptions): Promise<T> {
  const { signal, timeoutMs } = options;
  if (!signal && timeoutMs === undefined) return work;
  const abortReason = () => (options.onAbort ? options.onAbort() : signal?.reason);
  if (signal?.aborted) {
    work.catch(() => {});
    return Promise.reject(abortReason());
  }
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      settle();
      work.catch(() => {});
      reject(abortReason());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        settle();
        work.catch(() => {});
        reject(
          options.onTimeout
            ? options.onTimeout()
            : new DOMException(`No answer within ${timeoutMs} ms`, 'TimeoutError'),
        );
      }, timeoutMs);
    }
    work.then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}

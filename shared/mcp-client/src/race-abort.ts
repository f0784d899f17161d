/**
 * Settles with `work`, or rejects as soon as `signal` aborts (with `reason()`, default the signal's
 * reason). The work itself is not stopped: other waiters may still need it.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, reason?: () => unknown): Promise<T> {
  if (!signal) return work;
  const abortReason = () => (reason ? reason() : signal.reason);
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      work.catch(() => {});
      reject(abortReason());
      return;
    }
    const onAbort = () => reject(abortReason());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

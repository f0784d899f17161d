/**
 * Runs `work` with a signal of its own that follows `signal`, and unlinks the two when `work`
 * settles. The MCP SDK adds an `abort` listener to a request's signal and never removes it; on a
 * composite signal (`AbortSignal.any`, as the worker's tool-call job passes) or a timeout signal,
 * Node keeps every signal with an `abort` listener alive until it aborts, so each call's signal,
 * its listener and everything that closure reaches (the request options, the job's progress writer,
 * the record) stayed in the worker's heap for good: about 5 KB a call. The SDK's listener now goes
 * on a plain signal that dies with the call, and the link to the caller's signal is removed.
 */
export async function withForgettableSignal<T>(
  signal: AbortSignal | undefined,
  work: (own: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (!signal) return work(undefined);
  const own = new AbortController();
  const follow = () => own.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener('abort', follow, { once: true });
  try {
    return await work(own.signal);
  } finally {
    signal.removeEventListener('abort', follow);
  }
}

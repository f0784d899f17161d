/**
 * The one signal a tool call runs under: it aborts when the client cancels (`cancelled`, the SDK's
 * per-request signal) or when the tool's timeout passes, whichever comes first. A plain controller
 * and a timer instead of `AbortSignal.any([cancelled, AbortSignal.timeout(ms)])`: that builds two
 * more signals per call and a composite the runtime tracks through weak references, ~20 µs of CPU
 * per call here. `dispose()` when the call ends clears the timer and the listener.
 */
export class ToolDeadline {
  readonly #controller = new AbortController();
  readonly #cancelled: AbortSignal;
  readonly #timer: NodeJS.Timeout;
  #timedOut = false;

  constructor(cancelled: AbortSignal, timeoutMs: number) {
    this.#cancelled = cancelled;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new DOMException(`The tool's timeout of ${timeoutMs} ms passed.`, 'TimeoutError'));
    }, timeoutMs);
    // As AbortSignal.timeout: a pending deadline alone does not keep the process running.
    this.#timer.unref();
    if (cancelled.aborted) this.#onCancel();
    else cancelled.addEventListener('abort', this.#onCancel, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the timeout, not the client, aborted the signal. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#cancelled.removeEventListener('abort', this.#onCancel);
  }

  readonly #onCancel = (): void => {
    clearTimeout(this.#timer);
    this.#controller.abort(this.#cancelled.reason);
  };
}

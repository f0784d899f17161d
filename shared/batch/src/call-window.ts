import type { CompletionFeed, FinishedCall } from './call-completions.ts';

/** Whether a call's job will still run (waiting, delayed, active): `BrokerQueues.hasLiveToolCall`. */
export type IsLive = (callId: string) => Promise<boolean>;

export interface CallWindowOptions {
  /** Most of the run's calls unfinished at once (the schedule's concurrency). */
  size: number;
  /** The truth about a call's job: asked for the calls an event left in doubt, and by the safety poll. */
  isLive: IsLive;
  /** The caller's queue events: a finished call wakes the window at once. Without it, only the poll does. */
  completions?: CompletionFeed;
  /**
   * Every call in the window is checked in Redis at least this often, in ms, whatever the events
   * said: it catches an event the window missed (one from before its feed was reading, or trimmed
   * from the stream during an outage). Default 1,000.
   */
  pollMs?: number;
}

/**
 * The run's calls not yet finished, at most `size` of them: the run hands the next record in only
 * when one of its calls has finished. This is what keeps a schedule within its own concurrency and
 * leaves the rest of the caller's concurrency to its interactive calls: the caller's queue never
 * holds more than `size` of the run's jobs, so a call submitted meanwhile waits behind at most those.
 *
 * The window hears that a call finished from the caller's queue events (`completed`, `removed`:
 * the job is gone; `failed`: its state is checked, since a retried job is still live), so the next
 * record goes in within a Redis round trip of the outcome. A poll of every call's job state, once
 * per `pollMs`, is the safety net for an event it did not see; it never decides sooner than an event.
 */
export class CallWindow {
  readonly #size: number;
  readonly #isLive: IsLive;
  readonly #completions: CompletionFeed | undefined;
  readonly #pollMs: number;
  readonly #ids = new Set<string>();
  /** Calls of the window an event said finished (or may have: `final` false), not yet released. */
  readonly #heard = new Map<string, FinishedCall>();
  #unsubscribe: (() => void) | undefined;
  #wake: (() => void) | undefined;
  #lastPoll = 0;
  /** When `check` last ran: across waits, so a run of quick calls still looks now and then. */
  #lastCheck = Date.now();

  constructor(options: CallWindowOptions) {
    this.#size = options.size;
    this.#isLive = options.isLive;
    this.#completions = options.completions;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#unsubscribe = this.#completions?.subscribe((call) => {
      if (!this.#ids.has(call.callId)) return;
      this.#heard.set(call.callId, call);
      this.#wake?.();
    });
  }

  get size(): number {
    return this.#ids.size;
  }

  add(callId: string): void {
    this.#ids.add(callId);
    // A trivial tool may have finished before accept() returned its id.
    const recent = this.#completions?.recent(callId);
    if (recent) this.#heard.set(callId, recent);
  }

  /** Stops listening to the queue's events. */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /**
   * Drops the calls that finished: those an event said are gone, those in doubt whose job is not
   * live, and, when the poll is due (or `poll`), every call whose job is not live. Returns them.
   */
  async release(poll = false): Promise<FinishedCall[]> {
    const done: FinishedCall[] = [];
    const doubt: string[] = [];
    const due = poll || Date.now() - this.#lastPoll >= this.#pollMs;
    if (due) this.#lastPoll = Date.now();
    for (const id of this.#ids) {
      const heard = this.#heard.get(id);
      if (heard?.final) done.push(heard);
      else if (heard || due) doubt.push(id);
    }
    const live = await Promise.all(doubt.map((id) => this.#isLive(id)));
    doubt.forEach((id, i) => {
      if (!live[i]) done.push({ callId: id, final: true });
      else this.#heard.delete(id);
    });
    for (const call of done) {
      this.#ids.delete(call.callId);
      this.#heard.delete(call.callId);
    }
    return done;
  }

  /**
   * Waits until fewer than `limit` (default: the window's size) calls are unfinished, woken by
   * each event of one of its calls, and by the safety poll. `onReleased` sees each finished call
   * (with its status when the event carried it); `check` (a cancel check) runs at most every
   * `checkEveryMs` (default: the poll interval) while the window is full, and may throw.
   */
  async waitBelow(
    options: {
      limit?: number;
      onReleased?: (calls: FinishedCall[]) => Promise<void>;
      check?: () => Promise<void>;
      checkEveryMs?: number;
    } = {},
  ): Promise<void> {
    const limit = options.limit ?? this.#size;
    const checkEveryMs = options.checkEveryMs ?? this.#pollMs;
    for (;;) {
      const done = await this.release();
      if (done.length > 0) await options.onReleased?.(done);
      if (this.#ids.size < limit) return;
      if (options.check && Date.now() - this.#lastCheck >= checkEveryMs) {
        this.#lastCheck = Date.now();
        await options.check();
      }
      if (this.#heard.size > 0) continue;
      const untilPoll = Math.max(1, this.#pollMs - (Date.now() - this.#lastPoll));
      const untilCheck = options.check ? Math.max(1, checkEveryMs - (Date.now() - this.#lastCheck)) : untilPoll;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(untilPoll, untilCheck));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

import { abortableSleep } from './call-pacer.ts';

/** Whether a call's job will still run (waiting, delayed, active): `BrokerQueues.hasLiveToolCall`. */
export type IsLive = (callId: string) => Promise<boolean>;

/**
 * The run's calls not yet finished, at most `size` of them: the run hands the next record in only
 * when one of its calls has finished. This is what keeps a schedule within its own concurrency and
 * leaves the rest of the caller's concurrency to its interactive calls: the caller's queue never
 * holds more than `size` of the run's jobs, so a call submitted meanwhile waits behind at most those.
 */
export class CallWindow {
  readonly #size: number;
  readonly #isLive: IsLive;
  readonly #ids = new Set<string>();
  readonly #minPollMs: number;
  readonly #maxPollMs: number;

  constructor(options: { size: number; isLive: IsLive; minPollMs?: number; maxPollMs?: number }) {
    this.#size = options.size;
    this.#isLive = options.isLive;
    this.#minPollMs = options.minPollMs ?? 20;
    this.#maxPollMs = options.maxPollMs ?? 500;
  }

  get size(): number {
    return this.#ids.size;
  }

  add(callId: string): void {
    this.#ids.add(callId);
  }

  /** Drops the calls whose job is no longer live; returns their ids. */
  async release(): Promise<string[]> {
    const ids = [...this.#ids];
    const live = await Promise.all(ids.map((id) => this.#isLive(id)));
    const done = ids.filter((_, i) => !live[i]);
    for (const id of done) this.#ids.delete(id);
    return done;
  }

  /**
   * Waits until fewer than `limit` (default: the window's size) calls are unfinished, polling more
   * slowly while nothing finishes. `onReleased` sees each finished call; `check` runs between polls
   * (a cancel check) and may throw.
   */
  async waitBelow(
    options: {
      limit?: number;
      signal?: AbortSignal;
      onReleased?: (ids: string[]) => Promise<void>;
      check?: () => Promise<void>;
    } = {},
  ): Promise<void> {
    const limit = options.limit ?? this.#size;
    let delay = this.#minPollMs;
    for (;;) {
      const done = await this.release();
      if (done.length > 0) {
        await options.onReleased?.(done);
        delay = this.#minPollMs;
      }
      if (this.#ids.size < limit) return;
      await options.check?.();
      await abortableSleep(delay, options.signal);
      delay = Math.min(this.#maxPollMs, delay * 2);
    }
  }
}

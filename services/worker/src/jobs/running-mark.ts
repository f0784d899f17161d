import { type Applied, lifecycle, type ToolCallRepository, type Transition } from '@mcp-broker/broker';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import type { Logger } from 'pino';

/** What the attempt's `running` write found, once it has been made or given up on. */
export type MarkState =
  /** Not written (the call ended first, or the write failed): the next write must include the start. */
  | { kind: 'unwritten'; basis: ToolCallRecord }
  /** Stored: the record as written, with the cancel flag it may have found on a re-read. */
  | { kind: 'running'; record: ToolCallRecord }
  /** Another writer made the call final first (a cancel, the queue giving up): nothing of ours to store. */
  | { kind: 'final'; record: ToolCallRecord }
  /** The record is gone. */
  | { kind: 'missing' };

/**
 * The start of one attempt, stored lazily. A call that ends within the threshold never has a
 * `running` write: whatever ends its attempt (outcome, retry, rate-limit wait) is written with the
 * start folded in (`around`), so the record's history, attempts and `startedAt` are those a
 * `running` write would have left, in one request instead of two. A call still going at the
 * threshold is marked `running` then, so `GET` shows it; a progress report marks it at once (the
 * record keeps progress only while running).
 *
 * The write is ETag-checked against the record the job began from, so a cancel flagged meanwhile
 * is seen there (a re-read), as before the write was lazy: `onInterrupt` is told, and the job
 * aborts the call.
 */
export class RunningMark {
  readonly #repository: ToolCallRepository;
  readonly #log: () => Logger;
  readonly #basis: ToolCallRecord;
  /** When the attempt began: the `running` history entry and `startedAt` carry it, whenever written. */
  readonly #startedAt: string;
  readonly #start: Transition;
  readonly #onInterrupt: (state: MarkState) => void;
  #writing: Promise<MarkState> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    repository: ToolCallRepository;
    /** The job's logger, built on first use. */
    log: () => Logger;
    /** The record the job began from (its ETag known to the repository). */
    basis: ToolCallRecord;
    /** BullMQ's `attemptsStarted` of the job (see `lifecycle.start`). */
    attemptsStarted: number;
    /** The write found the call cancelled, made final by another writer, or gone: stop the call. */
    onInterrupt: (state: MarkState) => void;
    startedAt?: Date;
  }) {
    this.#repository = options.repository;
    this.#log = options.log;
    this.#basis = options.basis;
    this.#startedAt = (options.startedAt ?? new Date()).toISOString();
    this.#onInterrupt = options.onInterrupt;
    const at = this.#startedAt;
    const attemptsStarted = options.attemptsStarted;
    this.#start = (current) =>
      // Already started by this attempt (a write that reached the store although its answer was
      // lost): apply nothing twice.
      current.status === 'running' && current.history.at(-1)?.at === at && current.history.at(-1)?.status === 'running'
        ? current
        : lifecycle.start(current, at, { attemptsStarted });
  }

  /** The record as the start would leave it, without writing (for metrics: queue wait). */
  preview(): ToolCallRecord {
    return this.#start(this.#basis, this.#startedAt) ?? this.#basis;
  }

  /** Writes `running` after `afterMs`; 0 is the caller's business (it awaits `write()` first). */
  schedule(afterMs: number): void {
    this.#timer = setTimeout(() => void this.write(), afterMs);
  }

  /** Writes `running` now, once; later calls share the first one's result. Never rejects. */
  write(): Promise<MarkState> {
    clearTimeout(this.#timer);
    this.#writing ??= this.#repository
      .apply(this.#basis.caller, this.#basis.id, this.#start, this.#basis)
      .then((saved) => this.#stateOf(saved))
      .catch((err: unknown): MarkState => {
        // The call goes on; its outcome's write carries the start instead (or fails like this one).
        this.#log().warn({ err }, 'could not mark the call running; the outcome will carry the start');
        return { kind: 'unwritten', basis: this.#basis };
      })
      .then((state) => {
        if (state.kind === 'final' || state.kind === 'missing') this.#onInterrupt(state);
        else if (state.kind === 'running' && state.record.cancelRequested) this.#onInterrupt(state);
        return state;
      });
    return this.#writing;
  }

  #stateOf(saved: Applied | undefined): MarkState {
    if (!saved) return { kind: 'missing' };
    // `start` never makes a call final: a final record is another writer's.
    if (lifecycle.isFinal(saved.record)) return { kind: 'final', record: saved.record };
    return { kind: 'running', record: saved.record };
  }

  /**
   * The call has ended: no `running` write from now on. Waits for one in flight and says what the
   * record holds, for the write that ends the attempt.
   */
  async settle(): Promise<MarkState> {
    clearTimeout(this.#timer);
    return this.#writing ?? { kind: 'unwritten', basis: this.#basis };
  }

  /**
   * `end`, with the attempt's start folded in when `running` was never stored; wrapping after
   * `settle()` is what makes the choice final.
   */
  around(state: MarkState, end: Transition): Transition {
    if (state.kind === 'running') return end;
    return (current, now) => end(this.#start(current, now) ?? current, now);
  }
}

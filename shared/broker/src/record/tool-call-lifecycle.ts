import {
  type Delivery,
  finalStatuses,
  type RecordErrorCode,
  type ToolCallRecord,
  type ToolCallStatus,
} from '@mcp-broker/contracts';

/**
 * One step of a record's life: the next record, or undefined to leave it as it is (nothing to do,
 * or refused). Pure, so the repository can apply it again to a re-read record after a lost race.
 */
export type Transition = (current: ToolCallRecord, now: string) => ToolCallRecord | undefined;

/** A failure as the record keeps it (`error`). */
export interface RecordedFailure {
  code: RecordErrorCode;
  message: string;
}

/*
 * The record's lifecycle, in one place:
 *
 *   queued ─start→ running ─succeed/fail/deadLetter/cancel→ succeeded | failed | cancelled
 *     ↑              │
 *     └─requeue / rateLimitWait
 *   queued ─(start, then any of the above, in one write)→ …   (a fast call: see below)
 *   queued ─refuse→ failed            (a source's refused request, recorded so write-backs hear of it)
 *   failed (dead letter) ─replay→ queued   (the one way out of a final status, and only by an admin)
 *
 * No transition leaves a final status except replay, so a late writer (a cancel racing the outcome,
 * a stalled job coming back) can never undo an outcome.
 *
 * The worker stores `start` lazily: a call that ends within `broker.runningWriteAfterMs` has its
 * start applied together with what ended the attempt (an outcome, a retry, a rate-limit wait) in
 * one write, so the stored history is the same as if `running` had been written, but a reader may
 * never see the record `running`.
 */

export function isFinal(record: Pick<ToolCallRecord, 'status'>): boolean {
  return finalStatuses.includes(record.status);
}

/** Whether the record is a dead letter: failed after the broker gave up retrying (replayable). */
export function isDeadLetter(record: Pick<ToolCallRecord, 'status' | 'error'>): boolean {
  return record.status === 'failed' && record.error?.deadLettered === true;
}

function moved(
  current: ToolCallRecord,
  now: string,
  status: ToolCallStatus,
  patch: Partial<ToolCallRecord>,
  note?: string,
): ToolCallRecord {
  return {
    ...current,
    ...patch,
    status,
    history: [...current.history, { status, at: now, ...(note ? { note } : {}) }],
  };
}

function ended(
  current: ToolCallRecord,
  now: string,
  status: 'succeeded' | 'failed' | 'cancelled',
  patch: Partial<ToolCallRecord>,
  note?: string,
): ToolCallRecord | undefined {
  if (isFinal(current)) return undefined;
  return moved(current, now, status, { ...patch, completedAt: now }, note);
}

/**
 * A worker takes the call: running, one more attempt. Also from running (a stalled job run again).
 * `now` is when the attempt began, which is earlier than the write when the worker stores the start
 * lazily (only for a call that outlives a threshold, or together with its outcome).
 *
 * `attemptsStarted`, the queue's count of runs of this job (BullMQ's, rate-limited returns
 * included), is a floor on the attempts: a run that died before anything was written (a worker
 * killed within the threshold) left no trace on the record, but the queue counted it. Runs that
 * were rate-limit waits are given back, as `rateLimitWait` gives back the attempt.
 */
export function start(
  current: ToolCallRecord,
  now: string,
  options: { attemptsStarted?: number } = {},
): ToolCallRecord | undefined {
  if (isFinal(current)) return undefined;
  const attempts = Math.max(current.attempts + 1, attemptsFloor(current, options.attemptsStarted));
  return moved(current, now, 'running', { attempts, startedAt: current.startedAt ?? now }, `attempt ${attempts}`);
}

/** The attempts the queue's `attemptsStarted` proves, less the runs that were rate-limit waits. */
function attemptsFloor(current: ToolCallRecord, attemptsStarted: number | undefined): number {
  return (attemptsStarted ?? 0) - (current.rateLimitWaits ?? 0);
}

/** The tool answered. */
export function succeed(current: ToolCallRecord, now: string, result: unknown): ToolCallRecord | undefined {
  return ended(current, now, 'succeeded', { result });
}

/** A permanent failure (the tool's `isError` result is kept alongside as `result`). */
export function fail(
  current: ToolCallRecord,
  now: string,
  error: RecordedFailure,
  options: { result?: unknown } = {},
): ToolCallRecord | undefined {
  const patch: Partial<ToolCallRecord> = { error: { code: error.code, message: error.message } };
  if ('result' in options) patch.result = options.result;
  return ended(current, now, 'failed', patch);
}

/**
 * The broker gave up (retries exhausted, the queue abandoned the job): failed, and replayable.
 * `attemptsStarted` (the runs of the job the queue started) is a floor on the attempts, as for
 * `start`: a job abandoned for stalling too often may have had every run killed before its
 * `running` write, so that only the queue counted them.
 */
export function deadLetter(
  current: ToolCallRecord,
  now: string,
  error: RecordedFailure,
  options: { note?: string; attemptsStarted?: number } = {},
): ToolCallRecord | undefined {
  return ended(
    current,
    now,
    'failed',
    {
      attempts: Math.max(current.attempts, attemptsFloor(current, options.attemptsStarted)),
      error: { code: error.code, message: error.message, deadLettered: true },
    },
    options.note,
  );
}

/** Cancelled (while queued, before it ran, while running); the record keeps that a cancel was asked for. */
export function cancel(current: ToolCallRecord, now: string, note: string): ToolCallRecord | undefined {
  return ended(current, now, 'cancelled', { cancelRequested: true }, note);
}

/**
 * A call a source refused before it could run, recorded as failed with the reason. Only from the
 * fresh record (queued, never started): a refusal never overwrites a call that was accepted.
 */
export function refuse(current: ToolCallRecord, now: string, error: RecordedFailure): ToolCallRecord | undefined {
  if (current.status !== 'queued' || current.attempts > 0) return undefined;
  return ended(
    current,
    now,
    'failed',
    { error: { code: error.code, message: error.message } },
    `refused: ${error.code}`,
  );
}

/** A cancel was asked for while the call may be running: flag it for the worker (no status change). */
export function flagCancel(current: ToolCallRecord, _now: string): ToolCallRecord | undefined {
  if (isFinal(current) || current.cancelRequested) return undefined;
  return { ...current, cancelRequested: true };
}

/** A transient failure with attempts left: back to queued; the queue runs it again after its backoff. */
export function requeueForRetry(
  current: ToolCallRecord,
  now: string,
  code: RecordErrorCode,
): ToolCallRecord | undefined {
  if (isFinal(current)) return undefined;
  return moved(current, now, 'queued', {}, `${code}: will retry`);
}

/**
 * The endpoint answered 429 with a time to come back: back to queued without spending the attempt
 * (the one `start` counted is given back), and one more wait counted.
 */
export function rateLimitWait(current: ToolCallRecord, now: string, waitMs: number): ToolCallRecord | undefined {
  if (isFinal(current)) return undefined;
  return moved(
    current,
    now,
    'queued',
    { attempts: Math.max(0, current.attempts - 1), rateLimitWaits: (current.rateLimitWaits ?? 0) + 1 },
    `rate limited; retry in ${Math.ceil(waitMs / 1000)} s`,
  );
}

/** The latest progress the tool reported; only while running (a late report never touches an outcome). */
export function reportProgress(
  current: ToolCallRecord,
  _now: string,
  progress: NonNullable<ToolCallRecord['progress']>,
): ToolCallRecord | undefined {
  return current.status === 'running' ? { ...current, progress } : undefined;
}

/**
 * An admin puts a dead letter back: queued as a new generation (`replays`, part of every job id)
 * with attempts and deliveries fresh. The only transition out of a final status, and only out of a
 * dead letter: a succeeded, cancelled or permanently failed call is never run again.
 */
export function replay(current: ToolCallRecord, now: string, by: string): ToolCallRecord | undefined {
  if (!isDeadLetter(current)) return undefined;
  const { error: _e, completedAt: _c, progress: _p, cancelRequested: _x, ...rest } = current;
  return moved(
    rest as ToolCallRecord,
    now,
    'queued',
    {
      attempts: 0,
      replays: (current.replays ?? 0) + 1,
      deliveries: current.deliveries.map((d): Delivery => ({ target: d.target, status: 'pending', attempts: 0 })),
    },
    `replayed by ${by}`,
  );
}

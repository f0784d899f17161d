import {
  type BrokerQueues,
  type CancellationListener,
  lifecycle,
  type RecordedFailure,
  type ToolCallRepository,
  type Transition,
  type WriteBackDelivery,
} from '@mcp-broker/broker';
import type { ToolCallJob, ToolCallRecord } from '@mcp-broker/contracts';
import type { BrokerMetrics } from '@mcp-broker/telemetry';
import { type Job, RateLimitError, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import { isInvocationFailure, type ProgressUpdate, type ToolInvoker, type ToolResult } from '../tool-invoker.ts';
import { RunningMark } from './running-mark.ts';

export interface ToolCallJobDeps {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  invoker: ToolInvoker;
  delivery: WriteBackDelivery;
  cancellations: CancellationListener;
  logger: Logger;
  /** 429 answers a call may wait out before they count as failed attempts. Default 50. */
  maxRateLimitWaits?: number;
  /** Shortest interval between progress writes to the record, in ms. Default 1000. */
  progressIntervalMs?: number;
  /**
   * How long a call runs before the record is marked `running`, in ms (`broker.runningWriteAfterMs`);
   * a call that ends sooner is stored queued → outcome in one write. 0 (the default here) marks it
   * before the call.
   */
  runningWriteAfterMs?: number;
  /** Outcomes, latencies, retries and 429 waits (docs/observability.md); none when unset. */
  metrics?: BrokerMetrics;
}

/**
 * Runs one tool call: call on the caller's behalf (the record marked running only if the call
 * outlives `runningWriteAfterMs`, see RunningMark), record the outcome, first delivery attempt per
 * write-back target (a write-back job for those to retry). The record is the
 * source of truth: a job that finds its call already final (a crash after the outcome was stored)
 * only makes sure the pending write-backs are queued.
 *
 * Each write hands the repository the record it last wrote as its basis, so the happy path reads
 * the record once: a concurrent change (a cancel) costs one failed write and a re-read.
 */
export function toolCallProcessor(deps: ToolCallJobDeps) {
  return async (job: Job<ToolCallJob>, _token: string | undefined, worker: () => Worker): Promise<string> => {
    const { callId, caller } = job.data;
    // Built on first use: a call that goes well logs nothing of its own, and a child logger per
    // job (its bindings redacted and serialised) was a cost every call paid.
    let child: Logger | undefined;
    const log = () => (child ??= deps.logger.child({ callId, caller, jobId: job.id }));
    // A job's first run starts from the record the job carries (the write is ETag-checked, so a
    // record changed since is read then); a retried, stalled or rate-limited job reads it.
    const carried = job.attemptsMade === 0 && job.attemptsStarted <= 1 ? job.data.created : undefined;
    const record = carried
      ? deps.repository.adopt(carried.record, carried.etag)
      : await deps.repository.get(caller, callId);
    if (!record) {
      log().warn('job for an unknown tool call; dropped');
      return 'missing';
    }
    if (lifecycle.isFinal(record)) {
      await deps.queues.enqueueWriteBacksFor(record);
      return record.status;
    }
    // Registered before the call starts: a cancellation published from then on is seen, and one
    // flagged earlier is on the record (read, or found by the ETag-checked `running` write).
    const cancellation = deps.cancellations.register(callId);
    // One signal stops the call: the caller's cancel, or the `running` write finding it cancelled,
    // final or gone. A listener on the per-call cancel signal rather than `AbortSignal.any`, whose
    // composite is tracked by weak references until collected.
    const stop = new AbortController();
    const onCancel = () => stop.abort(cancellation.signal.reason);
    if (cancellation.signal.aborted) onCancel();
    else cancellation.signal.addEventListener('abort', onCancel, { once: true });
    try {
      if (record.cancelRequested) return await finish(deps, record, cancelledBeforeItRan);
      const mark = new RunningMark({
        repository: deps.repository,
        log,
        basis: record,
        attemptsStarted: job.attemptsStarted,
        onInterrupt: (state) => stop.abort(new Error(`call is ${state.kind === 'missing' ? 'gone' : 'cancelled'}`)),
      });
      const writeAfterMs = deps.runningWriteAfterMs ?? 0;
      if (writeAfterMs === 0) {
        // Marked before the call, as every call was before the write was lazy.
        const state = await mark.write();
        if (state.kind === 'missing') return 'missing';
        if (state.kind === 'final') {
          await deps.queues.enqueueWriteBacksFor(state.record);
          return state.record.status;
        }
        if (state.kind === 'running' && state.record.cancelRequested) {
          return await finish(deps, state.record, cancelledBeforeItRan);
        }
      } else {
        mark.schedule(writeAfterMs);
      }
      deps.metrics?.callStarted(mark.preview());
      const { signal } = stop;
      const progress = progressWriter(deps, record, log, () => mark.write());
      let result: ToolResult | undefined;
      let failure: unknown;
      try {
        result = await deps.invoker.invoke(mark.preview(), { signal, onProgress: progress.update });
      } catch (err) {
        failure = err;
      }
      await progress.flush();
      const state = await mark.settle();
      if (state.kind === 'missing') return 'missing';
      if (state.kind === 'final') {
        // Made final by another writer meanwhile: only its write-backs are left.
        await deps.queues.enqueueWriteBacksFor(state.record);
        return state.record.status;
      }
      const basis = state.kind === 'running' ? state.record : state.basis;
      const around = (t: Transition) => mark.around(state, t);
      if (result) return await outcomeOf(deps, basis, result, around);
      return await afterFailure(deps, job, worker, log, { failure, aborted: signal.aborted, basis, around });
    } finally {
      cancellation.signal.removeEventListener('abort', onCancel);
      cancellation.release();
    }
  };
}

/** How the attempt's last write is made: with its start folded in when `running` was never stored. */
type Around = (end: Transition) => Transition;

async function afterFailure(
  deps: ToolCallJobDeps,
  job: Job<ToolCallJob>,
  worker: () => Worker,
  log: () => Logger,
  attempt: { failure: unknown; aborted: boolean; basis: ToolCallRecord; around: Around },
): Promise<string> {
  const { failure: err, around } = attempt;
  const { caller, callId } = job.data;
  const fresh = (await deps.repository.get(caller, callId)) ?? attempt.basis;
  if (attempt.aborted || fresh.cancelRequested) {
    return finish(deps, fresh, around(cancelledWhileRunning));
  }
  if (!isInvocationFailure(err)) {
    log().error({ err }, 'unexpected failure calling the tool');
    return retryOrDeadLetter(
      deps,
      job,
      fresh,
      { code: 'BROKER_INTERNAL', message: 'Unexpected worker error.' },
      err,
      around,
    );
  }
  switch (err.kind) {
    case 'rate_limited': {
      const waits = (fresh.rateLimitWaits ?? 0) + 1;
      if (waits > (deps.maxRateLimitWaits ?? 50)) {
        // The endpoint keeps refusing: count it as a failed attempt like any transient error.
        return retryOrDeadLetter(
          deps,
          job,
          fresh,
          { code: err.code, message: `${err.message} (after ${waits - 1} waits)` },
          err,
          around,
        );
      }
      // The endpoint said when to come back: pause this caller's queue (all replicas) and put
      // the job back without spending one of its attempts.
      const waitMs = Math.max(1000, err.retryAfterMs ?? 1000);
      deps.metrics?.rateLimitWait(fresh);
      await deps.repository.apply(
        caller,
        callId,
        around((r, now) => lifecycle.rateLimitWait(r, now, waitMs)),
        fresh,
      );
      await worker().rateLimit(waitMs);
      throw new RateLimitError();
    }
    case 'transient':
    case 'unauthorized':
      return retryOrDeadLetter(deps, job, fresh, { code: err.code, message: err.message }, err, around);
    case 'cancelled':
      return finish(deps, fresh, around(cancelledWhileRunning));
    case 'permanent':
      return finish(
        deps,
        fresh,
        around((r, now) => lifecycle.fail(r, now, { code: err.code, message: err.message })),
      );
    default:
      // A new failure kind must be handled here before the worker compiles.
      throw new Error(`Unhandled failure kind ${err.kind satisfies never}`);
  }
}

async function outcomeOf(
  deps: ToolCallJobDeps,
  record: ToolCallRecord,
  result: ToolResult,
  around: Around,
): Promise<string> {
  if (result.isError) {
    const text = (result.content ?? [])
      .map((c) => (c && typeof c === 'object' && 'text' in c ? String((c as { text: unknown }).text) : ''))
      .join('\n')
      .trim();
    const error = { code: 'TOOL_ERROR' as const, message: text || 'The tool reported an error.' };
    return finish(
      deps,
      record,
      around((r, now) => lifecycle.fail(r, now, error, { result })),
    );
  }
  return finish(
    deps,
    record,
    around((r, now) => lifecycle.succeed(r, now, result)),
  );
}

async function retryOrDeadLetter(
  deps: ToolCallJobDeps,
  job: Job<ToolCallJob>,
  record: ToolCallRecord,
  error: RecordedFailure,
  cause: unknown,
  around: Around,
): Promise<string> {
  const attempts = job.opts.attempts ?? 1;
  if (job.attemptsMade + 1 >= attempts) {
    const gaveUp = { code: error.code, message: `${error.message} (gave up after ${attempts} attempts)` };
    return finish(
      deps,
      record,
      around((r, now) => lifecycle.deadLetter(r, now, gaveUp)),
    );
  }
  await deps.repository.apply(
    record.caller,
    record.id,
    around((r, now) => lifecycle.requeueForRetry(r, now, error.code)),
    record,
  );
  deps.metrics?.retry(record, error.code);
  throw cause instanceof Error ? cause : new Error(error.message);
}

const cancelledWhileRunning: Transition = (r, now) => lifecycle.cancel(r, now, 'cancelled while running');
const cancelledBeforeItRan: Transition = (r, now) => lifecycle.cancel(r, now, 'cancelled before it ran');

/**
 * Stores the outcome (`end`: a transition to a final status) and makes the first delivery
 * attempts. Returns the status the call ended with.
 */
async function finish(deps: ToolCallJobDeps, record: ToolCallRecord, end: Transition): Promise<string> {
  const saved = await deps.repository.apply(
    record.caller,
    record.id,
    (current, now) => {
      const next = end(current, now);
      // The first attempts are counted by the write that stores the outcome, before anything is sent.
      return next && { ...next, deliveries: deps.delivery.claimInline(current.deliveries, now) };
    },
    record,
  );
  // Only the run whose write made the call final makes the attempts that write claimed; a record
  // another writer made final is theirs to deliver (ingress queues a cancel's write-backs).
  if (saved?.changed) {
    deps.metrics?.callFinished(saved.record);
    await deps.delivery.afterOutcome(saved.record);
  }
  return saved?.record.status ?? 'missing';
}

// Progress can arrive many times a second; the record needs the latest value, not every one.
// The record keeps progress only while `running`: the first report has the start written first.
function progressWriter(
  deps: ToolCallJobDeps,
  record: ToolCallRecord,
  log: () => Logger,
  markRunning: () => Promise<unknown>,
) {
  const interval = deps.progressIntervalMs ?? 1000;
  let latest: ProgressUpdate | undefined;
  let lastWrite = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const write = () => {
    const value = latest;
    latest = undefined;
    if (!value) return writing;
    lastWrite = Date.now();
    writing = writing
      .then(markRunning)
      .then(() =>
        deps.repository.apply(record.caller, record.id, (current, now) =>
          lifecycle.reportProgress(current, now, value),
        ),
      )
      .catch((err: unknown) => log().warn({ err }, 'progress update failed'));
    return writing;
  };
  return {
    update(p: ProgressUpdate) {
      latest = p;
      if (Date.now() - lastWrite >= interval) void write();
    },
    flush: () => write(),
  };
}

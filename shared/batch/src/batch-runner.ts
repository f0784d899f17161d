import type { CallerConfig, ScheduleConfig } from '@mcp-broker/broker-config';
import { type BatchRunRecord, finalBatchRunStatuses } from '@mcp-broker/contracts';
import { Backoff } from '@mcp-broker/resilience';
import { classifySalesforceError, type OrgConnection } from '@mcp-broker/salesforce';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BatchIntake } from './batch-intake.ts';
import { batchCallKey, recordIdOfCallKey } from './batch-run-id.ts';
import type { BatchRunRepository } from './batch-run-repository.ts';
import { type BatchSource, BatchSourceError, type SourcePage, type SourceRecord } from './batch-source.ts';
import { type BulkIngestOptions, BulkIngestWriteBack } from './bulk-ingest-write-back.ts';
import type { CompletionFeed, FinishedCall } from './call-completions.ts';
import { abortableSleep, CallPacer } from './call-pacer.ts';
import { CallWindow } from './call-window.ts';
import { type ChunkItem, type ChunkOutcome, CollectionWriteBack } from './collection-write-back.ts';
import { RecordMapping, RecordMappingError } from './record-mapping.ts';
import type { RunCalls } from './run-calls.ts';
import { WRITE_BACK_INVALID, type WriteBackCheck } from './write-back-check.ts';

export interface BatchRunnerOptions {
  schedules: readonly ScheduleConfig[];
  callers: readonly CallerConfig[];
  runs: BatchRunRepository;
  calls: RunCalls;
  intake: BatchIntake;
  /** The schedule's source (one per run). */
  sourceFor: (schedule: ScheduleConfig) => BatchSource;
  /** Whether a call's tool-call job will still run (`BrokerQueues.hasLiveToolCall`). */
  isLive: (caller: string, callId: string) => Promise<boolean>;
  /** The caller's queue events, which tell the run's window a call finished; unset: the window only polls. */
  completions?: (caller: string) => CompletionFeed | undefined;
  /** Cancels a call that has not started (removes its job, records it cancelled); false when it is running or done. */
  cancelQueued: (caller: string, callId: string) => Promise<boolean>;
  /** Connected orgs, for the write-back. */
  org: (orgId: string) => OrgConnection;
  /** Checks a schedule's write-back against the org's describe when a run starts selecting. */
  writeBackCheck: WriteBackCheck;
  logger: Logger;
  /** Tries of one source page (or write-back describe) before the run job's own retry takes over. Default 3. */
  pageAttempts?: number;
  /** First delay between page tries, in ms (doubles, full jitter). Default 500. */
  pageRetryBaseMs?: number;
  /** Records handed in between two checkpoints within a page. Default 50. */
  checkpointEvery?: number;
  /** How often a run waiting for a previous one (overlap `wait`) looks again, in ms. Default 5,000. */
  waitPollMs?: number;
  /** The window's safety poll of its calls' job states, behind the queue events, in ms. Default 1,000. */
  pollMs?: number;
  /** How often a run whose window is full looks whether it was cancelled, in ms. Default 1,000. */
  cancelCheckMs?: number;
  /** Polling of Bulk API 2.0 ingest jobs (tests). */
  bulkIngest?: Pick<BulkIngestOptions, 'pollBaseMs' | 'completionTimeoutMs'>;
}

/** The run was cancelled while it went on: stop selecting, cancel what has not started. */
class RunCancelled extends Error {}

/**
 * One batch run as a resumable job. Each step records where it is on the run record before the
 * next begins, so a job that dies (a killed worker, a lost lock) is taken over by another replica
 * and continues from there:
 *
 * 1. `selecting`: check the write-back against the org's describe (a field it lacks fails the run
 *    before any call), then read a page from the source at the checkpointed cursor, hand each
 *    record to the broker core (`accept`) with the idempotency key (schedule, run, record id), at
 *    most the schedule's concurrency unfinished at once and its calls per minute; checkpoint the
 *    cursor and the offset within the page with the counts. A record handed in again after a
 *    crash is the same call (`duplicate`), so no tool is called twice for it.
 * 2. `draining`: wait for the run's unfinished calls.
 * 3. `counting`: count the run's calls from their records (the source of truth).
 * 4. `writing-back`: write the outcomes back in chunks (SObject Collections), checkpointing the
 *    last call id written; a failed chunk is retried without calling the tool again.
 * 5. `done`: the summary (counts, duration, errors by code) on the record and in the log.
 */
export class BatchRunner {
  readonly #o: BatchRunnerOptions;
  readonly #schedules: Map<string, ScheduleConfig>;
  readonly #callers: Map<string, CallerConfig>;

  constructor(options: BatchRunnerOptions) {
    this.#o = options;
    this.#schedules = new Map(options.schedules.map((s) => [s.id, s]));
    this.#callers = new Map(options.callers.map((c) => [c.id, c]));
  }

  /** The run job's processor. */
  async process(job: Job<{ runId: string; caller: string }>, token: string | undefined): Promise<void> {
    const { runId, caller: callerId } = job.data;
    let run = await this.#o.runs.get(callerId, runId);
    if (!run || finalBatchRunStatuses.includes(run.status)) return;
    const schedule = this.#schedules.get(run.schedule);
    const caller = this.#callers.get(callerId);
    if (!schedule || !caller || schedule.caller !== callerId) {
      await this.#end(run, 'failed', {
        code: 'BATCH_RUN_ABANDONED',
        message: `Schedule "${run.schedule}" of caller "${callerId}" is no longer configured.`,
      });
      return;
    }
    if (run.cancelRequested) {
      await this.#cancel(run);
      return;
    }
    if (run.status === 'queued') {
      // The schedule's runs recorded before this one and not ended (oldest first) go first.
      const active = await this.#o.runs.active(callerId, schedule.id);
      const mine = active.findIndex((r) => r.id === runId);
      const earlier = active.slice(0, mine < 0 ? active.length : mine);
      if (earlier.length > 0) {
        if (schedule.overlap === 'wait') {
          // Looks again later without spending an attempt.
          await job.moveToDelayed(Date.now() + (this.#o.waitPollMs ?? 5_000), token);
          throw new DelayedError();
        }
        await this.#end(run, 'skipped', {
          code: 'BATCH_RUN_OVERLAP',
          message: `Run ${earlier[0]?.id} of schedule "${schedule.id}" is still going (overlap: skip).`,
        });
        return;
      }
      run = await this.#save(run, (r, now) =>
        r.status === 'queued' ? { ...r, status: 'running', startedAt: r.startedAt ?? now } : undefined,
      );
    }
    try {
      if (run.phase === 'selecting') run = await this.#checkWriteBack(run, schedule);
      if (run.phase === 'selecting') run = await this.#select(run, schedule, caller);
      if (run.phase === 'draining' || run.phase === 'counting') run = await this.#drainAndCount(run, schedule);
      if (run.phase === 'writing-back') run = await this.#writeBack(run, schedule);
    } catch (error) {
      if (!(error instanceof RunCancelled)) throw error;
      await this.#cancel(run);
      return;
    }
    await this.#end(run, run.error ? 'failed' : 'succeeded', run.error);
  }

  /** Gives up on a run whose job BullMQ will not retry (attempts spent, stalled too often). */
  async abandon(caller: string, runId: string, reason: string): Promise<void> {
    const run = await this.#o.runs.get(caller, runId);
    if (!run || finalBatchRunStatuses.includes(run.status)) return;
    await this.#end(run, 'failed', { code: 'BATCH_RUN_ABANDONED', message: `Gave up on the run: ${reason}` });
  }

  /**
   * A write-back the org cannot take (an unknown sObject or field, an external id field that is
   * none) fails the run before its first call; checked on every attempt that selects (the
   * describe is cached), so a resumed run's calls are still drained and counted, not written.
   */
  async #checkWriteBack(run: BatchRunRecord, schedule: ScheduleConfig): Promise<BatchRunRecord> {
    const config = schedule.writeBack;
    if (!config) return run;
    const refusal = await this.#retried(
      'batch write-back describe',
      () => this.#o.writeBackCheck.check(schedule.id, config),
      () => true,
    );
    if (!refusal) return run;
    this.#o.logger.warn({ run: run.id, schedule: schedule.id, err: refusal.message }, 'batch write-back refused');
    return this.#save(run, (r) => ({ ...r, phase: 'draining', error: refusal }));
  }

  async #select(initial: BatchRunRecord, schedule: ScheduleConfig, caller: CallerConfig): Promise<BatchRunRecord> {
    const window = this.#window(schedule);
    try {
      return await this.#selectThrough(window, initial, schedule, caller);
    } finally {
      window.close();
    }
  }

  async #selectThrough(
    window: CallWindow,
    initial: BatchRunRecord,
    schedule: ScheduleConfig,
    caller: CallerConfig,
  ): Promise<BatchRunRecord> {
    let run = initial;
    const source = this.#o.sourceFor(schedule);
    const mapping = new RecordMapping(schedule, { schedule: schedule.id, run: run.id });
    const pacer = new CallPacer(schedule.callsPerMinute);
    // After a crash, the run's calls still unfinished fill the window again.
    for (const id of (await this.#o.calls.tally(caller.id, run.id)).unfinished) window.add(id);
    const progress = { succeeded: 0, failed: 0 };
    // Progress only (the sweep counts): the event's status when it carried one (the tool-call
    // job returns the record's final status), else a point read of the record.
    const onReleased = async (finished: FinishedCall[]) => {
      const statuses = await Promise.all(
        finished.map(async (call) =>
          call.status && FINAL_CALL_STATUSES.has(call.status)
            ? call.status
            : (await this.#o.calls.status(caller.id, call.callId))?.status,
        ),
      );
      for (const status of statuses) {
        if (status === 'succeeded') progress.succeeded += 1;
        else if (status === 'failed' || status === 'cancelled') progress.failed += 1;
      }
    };
    const checkCancel = async () => {
      const current = await this.#o.runs.get(run.caller, run.id);
      if (current?.cancelRequested) throw new RunCancelled();
    };
    const checkpoint = async (patch: Partial<BatchRunRecord>, counts: BatchRunRecord['counts']) => {
      run = await this.#save(run, (r) => {
        if (r.cancelRequested) throw new RunCancelled();
        return {
          ...r,
          ...patch,
          counts: {
            ...counts,
            succeeded: Math.max(r.counts.succeeded, counts.succeeded),
            failed: Math.max(r.counts.failed, counts.failed),
          },
        };
      });
    };
    let restarted = false;
    for (;;) {
      const page = await this.#readPage(source, run.cursor, schedule.pageSize);
      if (page instanceof BatchSourceError && page.restart && !restarted) {
        // The cursor expired (a run resumed long after): select again from the first page. The
        // records handed in already come back as duplicates of their calls, so the counts start over.
        restarted = true;
        this.#o.logger.warn(
          { run: run.id, code: page.code },
          'batch source cursor expired; selecting again from the start',
        );
        await checkpoint(
          { cursor: undefined, pageOffset: 0, invalidRecords: 0, errorsByCode: {} },
          { ...run.counts, selected: 0, called: 0, skipped: 0 },
        );
        continue;
      }
      if (page instanceof BatchSourceError) {
        // The source refused (a malformed query): what was called is still counted and written back.
        await checkpoint({ phase: 'draining', error: { code: page.code, message: page.message } }, run.counts);
        return run;
      }
      const counts = { ...run.counts };
      let notCalled = run.invalidRecords;
      const errorsByCode = { ...run.errorsByCode };
      const skip = (code: string) => {
        counts.skipped += 1;
        notCalled += 1;
        errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      };
      let offset = run.pageOffset;
      let capped = false;
      try {
        const every = this.#o.checkpointEvery ?? 50;
        while (offset < page.records.length) {
          if (counts.selected >= schedule.maxRecords) {
            capped = true;
            break;
          }
          await window.waitBelow({ onReleased, check: checkCancel, checkEveryMs: this.#o.cancelCheckMs ?? 1_000 });
          counts.succeeded = initial.counts.succeeded + progress.succeeded;
          counts.failed = initial.counts.failed + progress.failed;
          // As many records as the window has room for go in at once (the run's start, or several
          // calls finishing together), so their accepts overlap instead of queueing behind each other.
          const room = Math.min(
            schedule.concurrency - window.size,
            page.records.length - offset,
            schedule.maxRecords - counts.selected,
          );
          const wave = page.records.slice(offset, offset + Math.max(1, room));
          const handedIn = await settleAll(
            wave.map((record) => this.#handIn(record, mapping, pacer, schedule, caller, run)),
          );
          // Counted in page order, once the whole wave is in: a checkpoint's offset never passes a
          // record whose call is not recorded and queued.
          for (const outcome of handedIn) {
            counts.selected += 1;
            if (outcome.kind === 'skipped') skip(outcome.code);
            else if (outcome.kind === 'called') {
              counts.called += 1;
              if (outcome.live) window.add(outcome.id);
            }
          }
          const before = offset - run.pageOffset;
          offset += wave.length;
          if (Math.floor((offset - run.pageOffset) / every) > Math.floor(before / every)) {
            await checkpoint({ pageOffset: offset, invalidRecords: notCalled, errorsByCode }, counts);
          }
        }
      } catch (error) {
        // Cancelled mid-page: keep what was handed in, so the counts add up.
        if (error instanceof RunCancelled) {
          run = await this.#save(run, (r) => ({
            ...r,
            pageOffset: offset,
            invalidRecords: notCalled,
            errorsByCode,
            counts,
          }));
        }
        throw error;
      }
      const last = capped || page.next === undefined;
      await checkpoint(
        last
          ? { phase: 'draining', pageOffset: offset, invalidRecords: notCalled, errorsByCode }
          : { cursor: page.next, pageOffset: 0, invalidRecords: notCalled, errorsByCode },
        counts,
      );
      if (last) return run;
    }
  }

  /**
   * Hands one record to the broker core: maps it (a mapping that fails skips it), waits for the
   * pacer's slot, and accepts it with the record's idempotency key. `live`: its job may still run.
   */
  async #handIn(
    record: SourceRecord,
    mapping: RecordMapping,
    pacer: CallPacer,
    schedule: ScheduleConfig,
    caller: CallerConfig,
    run: BatchRunRecord,
  ): Promise<{ kind: 'skipped'; code: string } | { kind: 'refused' } | { kind: 'called'; id: string; live: boolean }> {
    let mapped: Awaited<ReturnType<RecordMapping['map']>>;
    try {
      mapped = await mapping.map(record);
    } catch (error) {
      if (!(error instanceof RecordMappingError)) throw error;
      this.#o.logger.warn({ run: run.id, schedule: schedule.id, err: error.message }, 'batch record skipped');
      return { kind: 'skipped', code: 'BATCH_RECORD_INVALID' };
    }
    await pacer.wait();
    const acceptance = await this.#o.intake.accept(caller, {
      tool: schedule.tool,
      arguments: mapped.arguments,
      writeBack: [],
      idempotencyKey: batchCallKey(schedule.id, run.id, mapped.recordId),
      source: { kind: 'batch', reference: run.id },
      correlation: { requestId: run.requestId ?? run.id },
    });
    if (acceptance.outcome === 'refused') {
      // A refusal the core recorded is a failed call, counted from the records; one it did not is skipped here.
      return acceptance.record ? { kind: 'refused' } : { kind: 'skipped', code: acceptance.reason.code };
    }
    const { status, id } = acceptance.record;
    return { kind: 'called', id, live: status === 'queued' || status === 'running' };
  }

  /**
   * Reads one page, retrying a transient failure with backoff; beyond the tries the run job is
   * retried from its checkpoint (and, on its last attempt, abandoned). A final failure is returned.
   */
  async #readPage(
    source: BatchSource,
    cursor: string | undefined,
    pageSize: number,
  ): Promise<SourcePage | BatchSourceError> {
    const read = async () => {
      try {
        return await source.readPage(cursor, pageSize);
      } catch (error) {
        throw error instanceof BatchSourceError
          ? error
          : new BatchSourceError('BATCH_SOURCE_FAILED', (error as Error).message ?? String(error), true);
      }
    };
    try {
      return await this.#retried('batch source page', read, (error) => (error as BatchSourceError).transient);
    } catch (error) {
      if (!(error instanceof BatchSourceError) || error.transient) throw error;
      this.#o.logger.warn({ code: error.code, err: error.message }, 'batch source refused the query');
      return error;
    }
  }

  /**
   * Runs `step`, trying it again with backoff while it fails `transient`ly, `pageAttempts` times
   * in all; then (or at once for a final failure) the failure is thrown, and a transient one
   * leaves it to the run job's attempts, which resume from the checkpoint.
   */
  async #retried<T>(what: string, step: () => Promise<T>, transient: (error: unknown) => boolean): Promise<T> {
    const attempts = this.#o.pageAttempts ?? 3;
    const backoff = new Backoff({ baseDelayMs: this.#o.pageRetryBaseMs ?? 500, maxDelayMs: 30_000 });
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (!transient(error) || attempt >= attempts) throw error;
        const failure = error as { code?: string; message?: string };
        this.#o.logger.warn({ code: failure.code, attempt, err: failure.message }, `${what} failed; retrying`);
        await abortableSleep(backoff.next());
      }
    }
  }

  async #drainAndCount(initial: BatchRunRecord, schedule: ScheduleConfig): Promise<BatchRunRecord> {
    const window = this.#window(schedule);
    try {
      return await this.#drainThrough(window, initial, schedule);
    } finally {
      window.close();
    }
  }

  async #drainThrough(window: CallWindow, initial: BatchRunRecord, schedule: ScheduleConfig): Promise<BatchRunRecord> {
    const run = initial;
    const checkCancel = async () => {
      const current = await this.#o.runs.get(run.caller, run.id);
      if (current?.cancelRequested) throw new RunCancelled();
    };
    for (;;) {
      const tally = await this.#o.calls.tally(run.caller, run.id);
      if (tally.unfinished.length === 0) {
        return this.#save(run, (r) => ({
          ...r,
          // A run that could not select everything still writes back what it called, unless the
          // write-back itself is what the org refused.
          phase: schedule.writeBack && r.error?.code !== WRITE_BACK_INVALID ? 'writing-back' : 'done',
          counts: {
            ...r.counts,
            succeeded: tally.succeeded,
            failed: tally.failed,
            skipped: r.invalidRecords + tally.cancelled,
          },
          errorsByCode: merge(r.errorsByCode, tally.errorsByCode, r.error ? { [r.error.code]: 1 } : {}),
        }));
      }
      for (const id of tally.unfinished) window.add(id);
      await window.waitBelow({ limit: 1, check: checkCancel, checkEveryMs: this.#o.cancelCheckMs ?? 1_000 });
    }
  }

  async #writeBack(initial: BatchRunRecord, schedule: ScheduleConfig): Promise<BatchRunRecord> {
    let run = initial;
    const config = schedule.writeBack;
    if (!config) return this.#save(run, (r) => ({ ...r, phase: 'done' }));
    const collections = new CollectionWriteBack(config);
    // A large write-back goes through Bulk API 2.0 ingest jobs: far fewer API calls than 200 a request.
    const bulk = config.bulkAbove !== undefined && run.counts.succeeded > config.bulkAbove;
    const writer = bulk
      ? new BulkIngestWriteBack({ mapping: collections, sobject: config.sobject, ...this.#o.bulkIngest })
      : collections;
    const slice = bulk ? config.bulkJobSize : config.chunkSize;
    const org = this.#o.org(config.org);
    for (;;) {
      const current = await this.#o.runs.get(run.caller, run.id);
      if (current?.cancelRequested) throw new RunCancelled();
      const calls = await this.#o.calls.finalPage(run.caller, run.id, {
        after: run.writeBackAfter,
        limit: slice,
        includeFailed: config.includeFailed,
      });
      if (calls.length === 0) return this.#save(run, (r) => ({ ...r, phase: 'done' }));
      const items: ChunkItem[] = calls.flatMap((call) => {
        const recordId = recordIdOfCallKey(call.idempotencyKey, schedule.id, run.id);
        return recordId ? [{ recordId, call }] : [];
      });
      let outcome: ChunkOutcome;
      try {
        outcome = await writer.write(org, items);
      } catch (error) {
        const failure = error as { kind?: string; code?: string; message?: string };
        // Transient: the run job retries this chunk from the checkpoint; no tool is called again.
        if (failure.kind !== 'permanent') throw error;
        outcome = {
          written: 0,
          unchanged: 0,
          failures: items.map((i) => ({
            recordId: i.recordId,
            code: failure.code ?? 'SALESFORCE_UNEXPECTED',
            message: failure.message ?? '',
          })),
        };
      }
      const lastId = calls[calls.length - 1]?.id;
      run = await this.#save(run, (r) => {
        const errorsByCode = { ...r.errorsByCode };
        for (const f of outcome.failures) errorsByCode[f.code] = (errorsByCode[f.code] ?? 0) + 1;
        return {
          ...r,
          writeBackAfter: lastId,
          counts: {
            ...r.counts,
            writtenBack: r.counts.writtenBack + outcome.written,
            writeBackFailed: r.counts.writeBackFailed + outcome.failures.length,
          },
          errorsByCode,
          writeBackFailures: [...r.writeBackFailures, ...outcome.failures].slice(0, 100),
        };
      });
    }
  }

  async #cancel(stale: BatchRunRecord): Promise<void> {
    const run = (await this.#o.runs.get(stale.caller, stale.id)) ?? stale;
    const cancel = { code: 'BATCH_RUN_CANCELLED', message: 'The run was cancelled.' };
    // Cancelled during the write-back: the calls are counted already; the rest is not written.
    if (run.phase === 'writing-back' || run.phase === 'done') return this.#end(run, 'cancelled', cancel);
    const tally = await this.#o.calls.tally(run.caller, run.id);
    let cancelled = 0;
    for (const id of tally.unfinished) if (await this.#o.cancelQueued(run.caller, id)) cancelled += 1;
    this.#o.logger.info({ run: run.id, cancelled, unfinished: tally.unfinished.length }, 'batch run cancelled');
    // Calls already running finish (their outcome is kept); the counts wait for them.
    const schedule = this.#schedules.get(run.schedule);
    if (schedule) {
      const window = this.#window(schedule);
      try {
        for (const id of tally.unfinished) window.add(id);
        await window.waitBelow({ limit: 1 });
      } finally {
        window.close();
      }
    }
    const after = await this.#o.calls.tally(run.caller, run.id);
    const counted = await this.#save(run, (r) => ({
      ...r,
      counts: {
        ...r.counts,
        succeeded: after.succeeded,
        failed: after.failed,
        skipped: r.invalidRecords + after.cancelled,
      },
      errorsByCode: merge(r.errorsByCode, after.errorsByCode),
    }));
    await this.#end(counted, 'cancelled', cancel);
  }

  async #end(run: BatchRunRecord, status: BatchRunRecord['status'], error?: BatchRunRecord['error']): Promise<void> {
    let ended = false;
    const saved = await this.#save(run, (r, now) => {
      ended = !finalBatchRunStatuses.includes(r.status);
      return !ended
        ? undefined
        : {
            ...r,
            status,
            phase: 'done',
            completedAt: now,
            ...(error ? { error } : {}),
            ...(error && status !== 'failed' ? { errorsByCode: { ...r.errorsByCode, [error.code]: 1 } } : {}),
          };
    });
    if (!ended) return;
    const durationMs =
      saved.startedAt && saved.completedAt ? Date.parse(saved.completedAt) - Date.parse(saved.startedAt) : 0;
    if (saved.status !== 'skipped') await this.#publishSummary(saved, durationMs);
    this.#o.logger.info(
      {
        run: saved.id,
        schedule: saved.schedule,
        caller: saved.caller,
        status: saved.status,
        counts: saved.counts,
        durationMs,
        errorsByCode: saved.errorsByCode,
      },
      'batch run finished',
    );
  }

  /**
   * The optional summary event, published once, when the run becomes final. Best effort: a
   * failure is logged and the run stays as it ended (its summary is on the run record anyway).
   */
  async #publishSummary(run: BatchRunRecord, durationMs: number): Promise<void> {
    const target = this.#schedules.get(run.schedule)?.summaryEvent;
    if (!target) return;
    try {
      await this.#o.org(target.org).withSession(async (conn) => {
        const saved = await conn.sobject(target.event).create({
          Run_Id__c: run.id,
          Schedule__c: run.schedule,
          Status__c: run.status,
          Counts__c: JSON.stringify(run.counts),
          Errors__c: JSON.stringify(run.errorsByCode),
          Duration_Ms__c: durationMs,
        });
        if (!saved.success) throw classifySalesforceError(saved);
      });
    } catch (error) {
      const failure = classifySalesforceError(error);
      this.#o.logger.warn(
        { run: run.id, code: failure.code, err: failure.message },
        'batch summary event not published',
      );
    }
  }

  /** A window over the caller's queue events; close it when done (it listens to them). */
  #window(schedule: ScheduleConfig): CallWindow {
    const completions = this.#o.completions?.(schedule.caller);
    return new CallWindow({
      size: schedule.concurrency,
      isLive: (id) => this.#o.isLive(schedule.caller, id),
      ...(completions ? { completions } : {}),
      ...(this.#o.pollMs === undefined ? {} : { pollMs: this.#o.pollMs }),
    });
  }

  async #save(
    run: BatchRunRecord,
    mutate: (current: BatchRunRecord, now: string) => BatchRunRecord | undefined,
  ): Promise<BatchRunRecord> {
    const saved = await this.#o.runs.update(run.caller, run.id, mutate);
    if (!saved) throw new Error(`Batch run ${run.id} disappeared from the store.`);
    return saved;
  }
}

/** The statuses a finished call's job may report (its return value), which count as progress. */
const FINAL_CALL_STATUSES = new Set(['succeeded', 'failed', 'cancelled']);

/** Like `Promise.all`, but waits for every promise before throwing the first failure (none is left running). */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

function merge(...maps: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const map of maps) for (const [code, n] of Object.entries(map)) out[code] = (out[code] ?? 0) + n;
  return out;
}

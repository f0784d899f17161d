import type { CallerConfig, ScheduleConfig } from '@mcp-broker/broker-config';
import { type BatchRunRecord, BrokerError, finalBatchRunStatuses, type ScheduleView } from '@mcp-broker/contracts';
import type { BatchQueue } from './batch-queue.ts';
import { batchRunId } from './batch-run-id.ts';
import type { BatchRunRepository } from './batch-run-repository.ts';

export interface BatchRunServiceOptions {
  schedules: readonly ScheduleConfig[];
  runs: BatchRunRepository;
  queue: BatchQueue;
}

/**
 * What the batch API does (ingress routes only translate HTTP): a caller lists its own schedules,
 * starts one now, reads and cancels its own runs. Another caller's schedule or run reads exactly
 * like one that does not exist (404), so nothing says whose it is.
 */
export class BatchRunService {
  readonly #o: BatchRunServiceOptions;

  constructor(options: BatchRunServiceOptions) {
    this.#o = options;
  }

  async listSchedules(caller: CallerConfig): Promise<ScheduleView[]> {
    const own = this.#o.schedules.filter((s) => s.caller === caller.id);
    return Promise.all(
      own.map(async (s) => {
        const [next, last] = await Promise.all([
          s.enabled ? this.#o.queue.nextTick(s.id) : Promise.resolve(undefined),
          this.#o.runs.latest(caller.id, s.id),
        ]);
        return {
          id: s.id,
          enabled: s.enabled,
          ...(s.cron !== undefined ? { cron: s.cron } : {}),
          timeZone: s.timeZone,
          ...(s.everySeconds !== undefined ? { everySeconds: s.everySeconds } : {}),
          tool: s.tool,
          sourceKind: s.source.type,
          overlap: s.overlap,
          concurrency: s.concurrency,
          callsPerMinute: s.callsPerMinute,
          maxRecords: s.maxRecords,
          ...(next ? { nextRunAt: next.toISOString() } : {}),
          ...(last
            ? {
                lastRun: {
                  id: last.id,
                  status: last.status,
                  createdAt: last.createdAt,
                  ...(last.completedAt ? { completedAt: last.completedAt } : {}),
                },
              }
            : {}),
        } satisfies ScheduleView;
      }),
    );
  }

  /**
   * Starts a run now. The idempotency key names the start: the same key again is the same run
   * (`created: false`). With overlap `skip`, a run still going refuses the start (409, naming it);
   * with `wait`, the new run waits for it.
   */
  async startRun(
    caller: CallerConfig,
    scheduleId: string,
    idempotencyKey: string | undefined,
    requestId: string,
  ): Promise<{ created: boolean; run: BatchRunRecord }> {
    const schedule = this.#schedule(caller, scheduleId);
    if (!idempotencyKey || idempotencyKey.length > 255) {
      throw new BrokerError(
        'BROKER_IDEMPOTENCY_KEY_MISSING',
        'Send an Idempotency-Key header (or body.idempotencyKey) of 1–255 characters, one per start.',
      );
    }
    if (!schedule.enabled) {
      throw new BrokerError('BROKER_SCHEDULE_DISABLED', `Schedule "${schedule.id}" is disabled in the configuration.`);
    }
    const id = batchRunId(caller.id, schedule.id, 'api', idempotencyKey);
    const existing = await this.#o.runs.get(caller.id, id);
    if (existing) return { created: false, run: existing };
    const outcome = await this.#o.queue.startLock.with(schedule.id, async () => {
      const active = await this.#o.runs.active(caller.id, schedule.id);
      const blocking = schedule.overlap === 'skip' ? active[0] : active.find((r) => r.status === 'queued');
      if (blocking) {
        throw new BrokerError(
          'BROKER_SCHEDULE_BUSY',
          `Run ${blocking.id} of schedule "${schedule.id}" is still ${blocking.status === 'queued' ? 'waiting' : 'going'} (overlap: ${schedule.overlap}); wait for it or cancel it.`,
          { details: { runId: blocking.id } },
        );
      }
      return this.#o.runs.create({
        id,
        schedule: schedule.id,
        caller: caller.id,
        startedBy: 'api',
        startKey: idempotencyKey,
        requestId,
      });
    });
    // Queued again also for a run found queued: repairs a crash between recording and queueing.
    if (outcome.run.status === 'queued') await this.#o.queue.enqueueRun({ runId: id, caller: caller.id });
    return outcome;
  }

  async getRun(caller: CallerConfig, id: string): Promise<BatchRunRecord> {
    const run = /^br_[0-9a-f]{32}$/.test(id) ? await this.#o.runs.get(caller.id, id) : undefined;
    if (!run) {
      throw new BrokerError('BROKER_BATCH_RUN_NOT_FOUND', `No batch run "${id.slice(0, 100)}" for this caller.`);
    }
    return run;
  }

  /**
   * Cancels a run. One not started yet ends at once; a running one is flagged, and its job stops
   * selecting, cancels the calls not yet started and records the counts (the answer shows the flag).
   */
  async cancel(caller: CallerConfig, id: string): Promise<BatchRunRecord> {
    const run = await this.getRun(caller, id);
    if (finalBatchRunStatuses.includes(run.status)) {
      throw new BrokerError('BROKER_BATCH_RUN_FINAL', `Batch run ${run.id} has already ended (${run.status}).`);
    }
    const removed = run.status === 'queued' && (await this.#o.queue.removeWaitingRun(run.id));
    const saved = await this.#o.runs.update(caller.id, run.id, (current, now) => {
      if (finalBatchRunStatuses.includes(current.status)) return undefined;
      if (removed && current.status === 'queued') {
        return {
          ...current,
          cancelRequested: true,
          status: 'cancelled',
          phase: 'done',
          completedAt: now,
          error: { code: 'BATCH_RUN_CANCELLED', message: 'The run was cancelled before it started.' },
          errorsByCode: { ...current.errorsByCode, BATCH_RUN_CANCELLED: 1 },
        };
      }
      return current.cancelRequested ? undefined : { ...current, cancelRequested: true };
    });
    return saved ?? run;
  }

  #schedule(caller: CallerConfig, id: string): ScheduleConfig {
    const schedule = this.#o.schedules.find((s) => s.id === id && s.caller === caller.id);
    if (!schedule) {
      throw new BrokerError('BROKER_SCHEDULE_NOT_FOUND', `No schedule "${id.slice(0, 100)}" for this caller.`);
    }
    return schedule;
  }
}

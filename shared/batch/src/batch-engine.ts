import { type BrokerQueues, bullPrefix, lifecycle, type ToolCallRepository } from '@mcp-broker/broker';
import type { CallerConfig, ScheduleConfig } from '@mcp-broker/broker-config';
import type { BatchRunJob, BatchTickJob } from '@mcp-broker/contracts';
import type { ToolCatalog } from '@mcp-broker/mcp-client';
import type { OrgConnections } from '@mcp-broker/salesforce';
import type { Store } from '@mcp-broker/store';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BatchIntake } from './batch-intake.ts';
import { BATCH_QUEUE, type BatchJob, BatchQueue } from './batch-queue.ts';
import { batchRunId } from './batch-run-id.ts';
import { BatchRunRepository } from './batch-run-repository.ts';
import { BatchRunner, type BatchRunnerOptions } from './batch-runner.ts';
import { buildBatchSource } from './build-batch-source.ts';
import { CallCompletions } from './call-completions.ts';
import { RunCalls } from './run-calls.ts';
import { WriteBackCheck } from './write-back-check.ts';

export interface BatchEngineOptions {
  schedules: readonly ScheduleConfig[];
  callers: readonly CallerConfig[];
  /** BullMQ needs its own connections; they are duplicated from this one. */
  redis: Redis;
  prefix: string;
  store: Store;
  /** The broker core's intake (`accept`). */
  intake: BatchIntake;
  queues: BrokerQueues;
  repository: ToolCallRepository;
  orgs: OrgConnections;
  /** The endpoint's tool list, to check each schedule's tool at start; unset: not checked. */
  catalog?: ToolCatalog;
  logger: Logger;
  retentionDays?: number;
  /** Run jobs this replica works on at once. Default 4. */
  concurrency?: number;
  /** Lock of a run job; a killed worker's run is taken over after it. Default 30 s. */
  lockDurationMs?: number;
  /** How often each replica re-registers missing job schedulers (Redis may lose them), in ms. Default 60,000. */
  registerIntervalMs?: number;
  /** Overrides of the runner's pacing and retry settings (tests). */
  runner?: Partial<
    Pick<
      BatchRunnerOptions,
      'pageAttempts' | 'pageRetryBaseMs' | 'checkpointEvery' | 'waitPollMs' | 'pollMs' | 'cancelCheckMs'
    >
  >;
  runAttempts?: number;
}

/**
 * The worker side of batch enrichment: one BullMQ job scheduler per enabled schedule on the batch
 * queue (no cron loop of ours: BullMQ adds a tick job per occurrence, and one replica takes each),
 * the tick handler that records a run (or a skipped one), and the run jobs themselves.
 */
export class BatchEngine {
  readonly #o: BatchEngineOptions;
  readonly queue: BatchQueue;
  readonly runs: BatchRunRepository;
  readonly runner: BatchRunner;
  readonly #schedules: Map<string, ScheduleConfig>;
  #worker: Worker<BatchJob> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The queue events of each caller with a schedule, read from start, so no run's first calls go unheard. */
  readonly #completions = new Map<string, CallCompletions>();

  constructor(options: BatchEngineOptions) {
    this.#o = options;
    this.#schedules = new Map(options.schedules.map((s) => [s.id, s]));
    this.queue = new BatchQueue({
      connection: options.redis,
      prefix: options.prefix,
      ...(options.runAttempts ? { runAttempts: options.runAttempts } : {}),
      onError: (err) => options.logger.warn({ err: { message: err.message } }, 'batch queue connection error'),
    });
    this.runs = new BatchRunRepository({
      store: options.store,
      ...(options.retentionDays ? { retentionDays: options.retentionDays } : {}),
    });
    this.runner = new BatchRunner({
      schedules: options.schedules,
      callers: options.callers,
      runs: this.runs,
      calls: new RunCalls(options.store),
      intake: options.intake,
      sourceFor: (schedule) => buildBatchSource(schedule.source, { store: options.store, orgs: options.orgs }),
      isLive: (caller, callId) => options.queues.hasLiveToolCall(caller, callId),
      completions: (caller) => this.#completions.get(caller),
      cancelQueued: async (caller, callId) => {
        if (!(await options.queues.removeQueuedToolCall(caller, callId))) return false;
        await options.repository.apply(caller, callId, (current, now) =>
          lifecycle.cancel(current, now, 'cancelled with its batch run'),
        );
        return true;
      },
      org: (orgId) => options.orgs.get(orgId),
      writeBackCheck: new WriteBackCheck({ org: (orgId) => options.orgs.get(orgId) }),
      logger: options.logger,
      ...options.runner,
    });
  }

  async start(): Promise<void> {
    await this.checkTools();
    for (const caller of new Set(this.#o.schedules.map((s) => s.caller))) {
      const completions = new CallCompletions({
        caller,
        redis: this.#o.redis,
        prefix: this.#o.prefix,
        logger: this.#o.logger,
      });
      this.#completions.set(caller, completions);
      await completions.ready();
    }
    await this.#register();
    this.#timer = setInterval(() => {
      this.#register().catch((err: unknown) =>
        this.#o.logger.warn({ err: { message: (err as Error).message } }, 'could not register the batch schedules'),
      );
    }, this.#o.registerIntervalMs ?? 60_000);
    this.#timer.unref();
    const lockDuration = this.#o.lockDurationMs ?? 30_000;
    this.#worker = new Worker<BatchJob>(BATCH_QUEUE, (job, token) => this.#process(job, token), {
      connection: this.#o.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true }),
      prefix: bullPrefix(this.#o.prefix),
      concurrency: this.#o.concurrency ?? 4,
      lockDuration,
      stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
      maxStalledCount: 5,
    });
    this.#worker.on('error', (err) => this.#o.logger.error({ err, queue: BATCH_QUEUE }, 'worker error'));
    this.#worker.on('failed', (job, err) => {
      if (job?.name !== 'run') return;
      const data = job.data as BatchRunJob;
      this.#o.logger.warn(
        { run: data.runId, attempt: job.attemptsMade, err: { message: err.message } },
        'batch run attempt failed',
      );
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled more than/i.test(err.message);
      if (final) {
        this.runner
          .abandon(data.caller, data.runId, err.message)
          .catch((cause: unknown) =>
            this.#o.logger.error({ err: cause, run: data.runId }, 'could not abandon a batch run'),
          );
      }
    });
    await this.#worker.waitUntilReady();
  }

  /**
   * Each enabled schedule's tool must be in the endpoint's catalog for its caller; a missing one
   * stops the start naming the schedule. An endpoint that cannot be reached now is not a reason to
   * stay down: the calls would then fail and be counted, so it is logged instead.
   */
  async checkTools(): Promise<void> {
    const catalog = this.#o.catalog;
    if (!catalog) return;
    const callers = new Map(this.#o.callers.map((c) => [c.id, c]));
    for (const schedule of this.#o.schedules) {
      if (!schedule.enabled) continue;
      const caller = callers.get(schedule.caller);
      if (!caller) continue;
      let found: unknown;
      try {
        found = await catalog.find({ caller: caller.id, endpoint: caller.upstream.endpoint }, schedule.tool);
      } catch (err) {
        this.#o.logger.warn(
          { schedule: schedule.id, err: { message: (err as Error).message } },
          'could not read the tool catalog to check a schedule; its calls will tell',
        );
        continue;
      }
      if (!found) {
        throw new Error(
          `schedules: schedule "${schedule.id}": tool: endpoint "${caller.upstream.endpoint}" offers no tool "${schedule.tool}" to caller "${caller.id}".`,
        );
      }
    }
  }

  /**
   * Registers the job scheduler of every enabled schedule that has none, and removes the others.
   * The run record is the source of truth here too: a run still queued or running whose job Redis
   * lost is queued again (a no-op while its job lives), so it resumes from its checkpoint.
   */
  async #register(): Promise<void> {
    const enabled = this.#o.schedules.filter((s) => s.enabled);
    for (const schedule of enabled) {
      // Upserting an unchanged one would move an interval's next tick: only a missing one, or one
      // whose cron, zone or interval the configuration changed, is written.
      if (!(await this.queue.isScheduledAs(schedule))) await this.queue.upsertSchedule(schedule);
    }
    await this.queue.removeSchedulersExcept(new Set(enabled.map((s) => s.id)));
    for (const schedule of this.#o.schedules) {
      for (const run of await this.runs.active(schedule.caller, schedule.id)) {
        await this.queue.enqueueRun({ runId: run.id, caller: run.caller });
      }
    }
  }

  async #process(job: Job<BatchJob>, token: string | undefined): Promise<void> {
    if (job.name === 'tick') return this.#tick(job as Job<BatchTickJob>);
    return this.runner.process(job as Job<BatchRunJob>, token);
  }

  /**
   * A tick records a run and queues it. Overlap `skip`: a tick that finds a run still going is
   * recorded as skipped. Overlap `wait`: the run is queued and starts when the previous one ends;
   * a tick that finds a run already waiting is skipped, so waiting runs never pile up.
   */
  async #tick(job: Job<BatchTickJob>): Promise<void> {
    const schedule = this.#schedules.get(job.data.schedule);
    if (!schedule?.enabled) return;
    await this.queue.startLock.with(schedule.id, () => this.#startFromTick(schedule, job));
  }

  async #startFromTick(schedule: ScheduleConfig, job: Job<BatchTickJob>): Promise<void> {
    const id = batchRunId(schedule.caller, schedule.id, 'schedule', job.id ?? String(job.timestamp));
    const base = {
      id,
      schedule: schedule.id,
      caller: schedule.caller,
      startedBy: 'schedule' as const,
      startKey: job.id ?? '',
    };
    const active = (await this.runs.active(schedule.caller, schedule.id)).filter((r) => r.id !== id);
    const blocking = schedule.overlap === 'skip' ? active[0] : active.find((r) => r.status === 'queued');
    if (blocking) {
      await this.runs.create({
        ...base,
        status: 'skipped',
        error: {
          code: 'BATCH_RUN_OVERLAP',
          message:
            schedule.overlap === 'skip'
              ? `Run ${blocking.id} of schedule "${schedule.id}" is still going (overlap: skip).`
              : `Run ${blocking.id} of schedule "${schedule.id}" is already waiting (overlap: wait).`,
        },
      });
      this.#o.logger.info({ schedule: schedule.id, run: id, blocking: blocking.id }, 'batch tick skipped');
      return;
    }
    const { run } = await this.runs.create(base);
    if (run.status === 'queued' || run.status === 'running')
      await this.queue.enqueueRun({ runId: run.id, caller: run.caller });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#worker?.close();
    await Promise.all([...this.#completions.values()].map((c) => c.close()));
    await this.queue.close();
  }
}

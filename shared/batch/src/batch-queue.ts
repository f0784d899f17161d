import { bullPrefix } from '@mcp-broker/broker';
import type { ScheduleConfig } from '@mcp-broker/broker-config';
import type { BatchRunJob, BatchTickJob } from '@mcp-broker/contracts';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ScheduleLock } from './schedule-lock.ts';

/** Ticks of the schedules' job schedulers and the runs they start share one queue. */
export const BATCH_QUEUE = 'batch-runs';

/** The job scheduler of a schedule: one per schedule id, in Redis, so one replica handles each tick. */
export const scheduleSchedulerId = (schedule: string) => `schedule.${schedule}`;

export type BatchJob = BatchTickJob | BatchRunJob;

export interface BatchQueueOptions {
  connection: Redis;
  /** The broker's key prefix (as for the tool-call queues). */
  prefix: string;
  /** Attempts of a run job (a failure resumes from the checkpoint). Default 8. */
  runAttempts?: number;
  onError?: (err: Error) => void;
}

/** The batch queue: job schedulers per schedule, and run jobs whose id is the run's id. */
export class BatchQueue {
  readonly queue: Queue<BatchJob>;
  /** Serialises the start decisions of one schedule (ticks and API starts) across replicas. */
  readonly startLock: ScheduleLock;
  readonly #runAttempts: number;

  constructor(options: BatchQueueOptions) {
    this.queue = new Queue<BatchJob>(BATCH_QUEUE, {
      connection: options.connection,
      prefix: bullPrefix(options.prefix),
    });
    this.queue.on('error', (err) => options.onError?.(err));
    this.#runAttempts = options.runAttempts ?? 8;
    this.startLock = new ScheduleLock(options.connection, options.prefix);
  }

  /** Queues a run's job unless one is live; a finished job under the id (an earlier attempt's) is replaced. */
  async enqueueRun(job: BatchRunJob): Promise<void> {
    const state = await this.queue.getJobState(job.runId);
    if (LIVE.has(state)) return;
    if (state !== 'unknown') await this.queue.remove(job.runId).catch(() => {});
    await this.queue.add('run', job, {
      jobId: job.runId,
      attempts: this.#runAttempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { age: 7 * 86_400 },
    });
  }

  /** Removes a run's job if it has not started (waiting or delayed); false otherwise. */
  async removeWaitingRun(runId: string): Promise<boolean> {
    const state = await this.queue.getJobState(runId);
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    return (await this.queue.remove(runId)) === 1;
  }

  /**
   * Registers (or updates) a schedule's job scheduler: BullMQ computes the ticks from the cron
   * expression in its time zone (cron-parser, the same parser the configuration was checked with)
   * or the interval, and adds one tick job per occurrence.
   */
  async upsertSchedule(schedule: ScheduleConfig): Promise<void> {
    await this.queue.upsertJobScheduler(
      scheduleSchedulerId(schedule.id),
      schedule.cron !== undefined
        ? { pattern: schedule.cron, tz: schedule.timeZone }
        : { every: (schedule.everySeconds ?? 3600) * 1000 },
      {
        name: 'tick',
        data: { schedule: schedule.id },
        // A tick that meets a store outage is tried again; the run id derives from the tick's job id.
        opts: {
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { count: 100 },
          removeOnFail: { count: 100 },
        },
      },
    );
  }

  async hasSchedule(schedule: string): Promise<boolean> {
    return (await this.queue.getJobScheduler(scheduleSchedulerId(schedule))) !== undefined;
  }

  /** Whether the schedule's job scheduler exists and fires as the configuration says (cron, zone, interval). */
  async isScheduledAs(schedule: ScheduleConfig): Promise<boolean> {
    const existing = await this.queue.getJobScheduler(scheduleSchedulerId(schedule.id));
    if (!existing) return false;
    if (schedule.cron !== undefined) return existing.pattern === schedule.cron && existing.tz === schedule.timeZone;
    return existing.pattern === undefined && Number(existing.every) === (schedule.everySeconds ?? 0) * 1000;
  }

  /** When the schedule fires next, or undefined when it has no scheduler (disabled). */
  async nextTick(schedule: string): Promise<Date | undefined> {
    const scheduler = await this.queue.getJobScheduler(scheduleSchedulerId(schedule));
    return scheduler?.next ? new Date(scheduler.next) : undefined;
  }

  /** Removes the job schedulers of schedules no longer enabled in the configuration. */
  async removeSchedulersExcept(enabled: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const scheduler of await this.queue.getJobSchedulers(0, -1)) {
      const id = scheduler.id ?? scheduler.key;
      if (!id.startsWith('schedule.')) continue;
      if (enabled.has(id.slice('schedule.'.length))) continue;
      await this.queue.removeJobScheduler(id);
      removed.push(id);
    }
    return removed;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

const LIVE = new Set<string>(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

import {
  type BrokerQueues,
  backoffDelay,
  bullPrefix,
  CancellationListener,
  lifecycle,
  type ToolCallRepository,
  toolCallQueueName,
  WRITE_BACK_QUEUE,
  WriteBackDelivery,
  type WriteBackTargetHandler,
} from '@mcp-broker/broker';
import type { CallerConfig } from '@mcp-broker/broker-config';
import type { ToolCallJob, WriteBackJob } from '@mcp-broker/contracts';
import { raceAbort } from '@mcp-broker/resilience';
import type { BrokerMetrics } from '@mcp-broker/telemetry';
import { type Job, type Telemetry, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { toolCallProcessor } from './jobs/tool-call-job.ts';
import { writeBackProcessor } from './jobs/write-back-job.ts';
import { Reconciler } from './reconciler.ts';
import type { ToolInvoker } from './tool-invoker.ts';

export interface BrokerWorkerOptions {
  callers: readonly CallerConfig[];
  /** BullMQ needs its own connections; they are duplicated from this one. */
  redis: Redis;
  prefix: string;
  repository: ToolCallRepository;
  queues: BrokerQueues;
  invoker: ToolInvoker;
  writeBackHandlers: readonly WriteBackTargetHandler[];
  logger: Logger;
  /** How long a job's lock lasts without renewal; a crashed worker's job is retried after it. Default 30 s. */
  lockDurationMs?: number;
  /** How long `close()` waits for BullMQ to drain before it disconnects regardless, in ms. Default 20,000. */
  closeTimeoutMs?: number;
  /** Budget of the first write-back attempt, made by the tool-call job, in ms; 0 = always a write-back job. Default 10,000. */
  inlineWriteBackTimeoutMs?: number;
  /** Concurrency of the write-back worker on this replica. Default 16. */
  writeBackConcurrency?: number;
  progressIntervalMs?: number;
  /** `broker.runningWriteAfterMs`: how long a call runs before its record is marked `running`; 0 = before the call. Default 0. */
  runningWriteAfterMs?: number;
  /** The sweep that queues again calls and deliveries whose jobs Redis lost; off when unset. */
  reconcile?: { intervalMs: number; graceMs: number };
  /** BullMQ's telemetry option (bullmq-otel): each attempt is a span under the trace the job carries. */
  telemetry?: Telemetry;
  /** The broker's metrics (outcomes, latencies, retries, write-backs); none when unset. */
  metrics?: BrokerMetrics;
}

/**
 * One BullMQ worker per caller (each caller's queue, concurrency and rate limit apply across all
 * replicas) plus the write-back worker. `close()` drains: stop taking jobs, let the ones in hand
 * finish, then disconnect.
 */
export class BrokerWorker {
  readonly #workers: Worker[] = [];
  readonly #o: BrokerWorkerOptions;
  readonly #subscriber: Redis;
  readonly cancellations: CancellationListener;
  readonly #delivery: WriteBackDelivery;
  readonly reconciler: Reconciler | undefined;

  constructor(options: BrokerWorkerOptions) {
    this.#o = options;
    this.#delivery = new WriteBackDelivery({
      repository: options.repository,
      queues: options.queues,
      handlers: options.writeBackHandlers,
      logger: options.logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.inlineWriteBackTimeoutMs === undefined ? {} : { inlineTimeoutMs: options.inlineWriteBackTimeoutMs }),
    });
    this.#subscriber = options.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    // A duplicate does not inherit listeners: without one, an outage prints "Unhandled error event".
    this.#subscriber.on('error', (err) =>
      options.logger.warn({ err: { message: err.message } }, 'redis subscriber connection error'),
    );
    this.cancellations = new CancellationListener(this.#subscriber, options.prefix, options.logger);
    this.reconciler = options.reconcile
      ? new Reconciler({
          repository: options.repository,
          queues: options.queues,
          callers: options.callers,
          redis: options.redis,
          prefix: options.prefix,
          logger: options.logger,
          ...options.reconcile,
        })
      : undefined;
  }

  async start(): Promise<void> {
    const { retry } = this.#o.queues;
    const base: Omit<WorkerOptions, 'concurrency'> = {
      connection: this.#o.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true }),
      prefix: bullPrefix(this.#o.prefix),
      lockDuration: this.#o.lockDurationMs ?? 30_000,
      stalledInterval: Math.max(500, Math.floor((this.#o.lockDurationMs ?? 30_000) / 2)),
      maxStalledCount: 3,
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, retry) },
      ...(this.#o.telemetry ? { telemetry: this.#o.telemetry } : {}),
    };
    for (const caller of this.#o.callers) {
      const queue = this.#o.queues.toolCallQueue(caller.id);
      // Limits held in Redis, so they bind every replica together.
      await queue.setGlobalConcurrency(caller.limits.concurrency);
      await queue.setGlobalRateLimit(caller.limits.callsPerMinute, 60_000);
      let worker: Worker<ToolCallJob> | undefined;
      const process = toolCallProcessor({
        repository: this.#o.repository,
        queues: this.#o.queues,
        invoker: this.#o.invoker,
        delivery: this.#delivery,
        cancellations: this.cancellations,
        logger: this.#o.logger,
        ...(this.#o.metrics ? { metrics: this.#o.metrics } : {}),
        ...(this.#o.progressIntervalMs === undefined ? {} : { progressIntervalMs: this.#o.progressIntervalMs }),
        ...(this.#o.runningWriteAfterMs === undefined ? {} : { runningWriteAfterMs: this.#o.runningWriteAfterMs }),
      });
      worker = new Worker<ToolCallJob>(
        toolCallQueueName(caller.id),
        (job, token) => process(job, token, () => worker!),
        {
          ...base,
          concurrency: caller.limits.concurrency,
        },
      );
      this.#watch(worker);
      worker.on('failed', (job, err) => {
        if (!job) return;
        void this.#deadLetterIfAbandoned(job, err);
        // The record copy a new call's job carries is only for its first attempt; a failed job is
        // kept for days, so it keeps ids only (best effort: a later attempt ignores the copy anyway).
        if (job.data.created) {
          job.updateData({ callId: job.data.callId, caller: job.data.caller }).catch(() => {});
        }
      });
      this.#workers.push(worker);
    }
    const writeBacks = new Worker<WriteBackJob>(
      WRITE_BACK_QUEUE,
      writeBackProcessor({ repository: this.#o.repository, delivery: this.#delivery, logger: this.#o.logger }),
      { ...base, concurrency: this.#o.writeBackConcurrency ?? 16 },
    );
    this.#watch(writeBacks);
    this.#workers.push(writeBacks);
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
    await this.reconciler?.start();
  }

  #watch(worker: Worker) {
    worker.on('error', (err) => this.#o.logger.error({ err, queue: worker.name }, 'worker error'));
    worker.on('failed', (job, err) =>
      this.#o.logger.warn({ jobId: job?.id, queue: worker.name, err: { message: err.message } }, 'job attempt failed'),
    );
  }

  /**
   * BullMQ gives up on a job without running our code when it stalled too often (a worker dying
   * again and again mid-call). The record must not stay "running": dead-letter it like exhausted
   * retries, so it is visible and replayable.
   */
  async #deadLetterIfAbandoned(job: Job<ToolCallJob>, err: Error): Promise<void> {
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade < attempts && !/stalled more than/i.test(err.message)) return;
    const { callId, caller } = job.data;
    // The runs the queue started, which the record may never have seen (each killed before its
    // lazy `running` write). The activation that fails a job for stalling too often (BullMQ's
    // deferred failure) runs nothing, so it is not one of them.
    const attemptsStarted = job.attemptsStarted - (job.deferredFailure ? 1 : 0);
    try {
      const error = { code: 'BROKER_WORKER_ABANDONED' as const, message: `Gave up on the call: ${err.message}` };
      const saved = await this.#o.repository.apply(caller, callId, (current, now) =>
        lifecycle.deadLetter(current, now, error, { note: 'abandoned by the queue', attemptsStarted }),
      );
      if (saved?.changed) {
        this.#o.metrics?.callFinished(saved.record);
        await this.#o.queues.enqueueWriteBacksFor(saved.record);
      }
    } catch (cause) {
      this.#o.logger.error({ err: cause, callId }, 'could not dead-letter an abandoned call');
    }
  }

  /** Drains: no new jobs; jobs in hand finish (or are released by their lock if the process dies). */
  /**
   * BullMQ's `Worker.close()` can wait forever once a Redis outage has left its blocking connection
   * parked in "reconnecting" (bullmq#4656, open in 6.7), so the drain is bounded: past the timeout
   * the connections are dropped and any job still in hand is taken over, once its lock lapses, by
   * another replica, as after a crash.
   */
  async close(): Promise<void> {
    const timeoutMs = this.#o.closeTimeoutMs ?? 20_000;
    try {
      await raceAbort(
        (async () => {
          await this.reconciler?.close();
          await Promise.all(this.#workers.map((w) => w.close()));
        })(),
        { timeoutMs },
      );
    } catch (err) {
      this.#o.logger.warn({ err, timeoutMs }, 'queues did not drain in time; disconnecting');
      for (const w of this.#workers) void w.disconnect().catch(() => {});
    }
    this.#subscriber.disconnect();
  }
}

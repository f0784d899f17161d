import { createHash } from 'node:crypto';
import { bullPrefix, DeliveryError } from '@mcp-broker/broker';
import { type DatabricksDoorbellJob, databricksDoorbellJobSchema } from '@mcp-broker/contracts';
import { backoffDelay } from '@mcp-broker/resilience';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DatabricksDoorbellProcessor, DoorbellOutcome } from './databricks-doorbell.ts';
import { type DatabricksLogger, silentLogger } from './databricks-logger.ts';
import { doorbellKey } from './webhook-routing.ts';

export const DOORBELL_QUEUE = 'databricks-webhooks';

/**
 * One job per (source, workspace, run, event type[, task]): a redelivered webhook finds the job
 * of the first delivery (kept a day after it completes) and adds nothing.
 */
export function doorbellJobId(source: string, webhook: DatabricksDoorbellJob['webhook']): string {
  return `dbx-${createHash('sha256')
    .update(`${source}\n${doorbellKey(webhook)}`)
    .digest('hex')
    .slice(0, 40)}`;
}

export interface DoorbellQueueOptions {
  connection: Redis;
  /** The broker's Redis key prefix. */
  prefix: string;
  /** Attempts at fetching the run (each after backoff or the Jobs API's Retry-After). Default 8. */
  attempts?: number;
}

/** Ingress's end: durable in Redis before the webhook is answered, so a Jobs API outage loses nothing. */
export class DatabricksDoorbellQueue {
  readonly #queue: Queue<DatabricksDoorbellJob>;
  readonly #attempts: number;

  constructor(options: DoorbellQueueOptions) {
    this.#queue = new Queue<DatabricksDoorbellJob>(DOORBELL_QUEUE, {
      connection: options.connection,
      prefix: bullPrefix(options.prefix),
    });
    this.#queue.on('error', () => {});
    this.#attempts = options.attempts ?? 8;
  }

  /**
   * `duplicate` when a job for the same event is already queued, running or done (a redelivery).
   * One that failed for good (the core unreachable on its last attempt) is tried again: the
   * redelivery is the workspace's second chance. Idempotent under concurrency: deliveries of one
   * event racing each other all succeed, and the event has one job. Adding an existing job id adds
   * nothing (BullMQ), and of two redeliveries retrying the same failed job, the one that finds it
   * already retried by the other is a duplicate, not an error.
   */
  async enqueue(job: DatabricksDoorbellJob): Promise<'queued' | 'duplicate'> {
    const jobId = doorbellJobId(job.source, job.webhook);
    const existing = await this.#queue.getJob(jobId);
    if (existing) {
      if (!(await existing.isFailed())) return 'duplicate';
      try {
        await existing.retry('failed');
        return 'queued';
      } catch (error) {
        const state = await this.#queue.getJobState(jobId);
        if (state === 'failed') throw error;
        // Retried by a concurrent delivery (now waiting or later), or removed: add it afresh below.
        if (state !== 'unknown') return 'duplicate';
      }
    }
    // Of concurrent first deliveries each adds: BullMQ keeps the first job and the others add nothing.
    await this.#queue.add('doorbell', job, {
      jobId,
      attempts: this.#attempts,
      backoff: { type: 'databricks' },
      removeOnComplete: { age: 86_400, count: 100_000 },
      removeOnFail: { age: 7 * 86_400 },
    });
    return 'queued';
  }

  async counts(): Promise<Record<string, number>> {
    return this.#queue.getJobCounts();
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }
}

export interface DoorbellWorkerOptions {
  connection: Redis;
  prefix: string;
  processor: DatabricksDoorbellProcessor;
  /** Doorbells handled at once by this replica. Default 4. */
  concurrency?: number;
  /** Backoff between attempts when the Jobs API names no Retry-After. Default 2 s doubling to 60 s. */
  retry?: { baseDelayMs: number; maxDelayMs: number };
  logger?: DatabricksLogger;
}

/** The worker's end: runs the processor for each doorbell, retrying transient Jobs API trouble. */
export class DatabricksDoorbellWorker {
  readonly #worker: Worker<DatabricksDoorbellJob, DoorbellOutcome>;

  constructor(options: DoorbellWorkerOptions) {
    const logger = options.logger ?? silentLogger;
    const retry = options.retry ?? { baseDelayMs: 2_000, maxDelayMs: 60_000 };
    this.#worker = new Worker<DatabricksDoorbellJob, DoorbellOutcome>(
      DOORBELL_QUEUE,
      async (job) => {
        const data = databricksDoorbellJobSchema.parse(job.data);
        const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        return options.processor.process(data, { final });
      },
      {
        connection: options.connection,
        prefix: bullPrefix(options.prefix),
        concurrency: options.concurrency ?? 4,
        autorun: false,
        settings: {
          backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
            error instanceof DeliveryError && error.retryAfterMs !== undefined
              ? error.retryAfterMs
              : backoffDelay(attemptsMade, retry),
        },
      },
    );
    this.#worker.on('failed', (job, error) => {
      const fields = { jobId: job?.id, attemptsMade: job?.attemptsMade, reason: error.message };
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) logger.error(fields, 'databricks doorbell abandoned');
      else logger.warn(fields, 'databricks doorbell will be tried again');
    });
    this.#worker.on('error', (error) => logger.warn({ reason: error.message }, 'databricks doorbell worker error'));
  }

  start(): void {
    void this.#worker.run();
  }

  async close(): Promise<void> {
    await this.#worker.close();
  }
}

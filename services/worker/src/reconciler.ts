import type { RecordWithWorkLeft, ToolCallRepository } from '@mcp-broker/broker';
import { type BrokerQueues, bullPrefix, MAINTENANCE_QUEUE } from '@mcp-broker/broker';
import type { CallerConfig } from '@mcp-broker/broker-config';
import { finalStatuses } from '@mcp-broker/contracts';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface ReconcilerOptions {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  callers: readonly CallerConfig[];
  /** BullMQ needs its own connection; it is duplicated from this one. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** How often the sweep runs (once across all replicas), in ms. */
  intervalMs: number;
  /** A record written more recently than this is left alone: its job may be about to be queued or to write it. */
  graceMs: number;
}

/** What this replica's sweeps have done, for `/status`. */
export interface ReconcileCounts {
  sweeps: number;
  /** Calls `queued` or `running` whose job was gone, queued again. */
  toolCalls: number;
  /** Deliveries not yet done on a final call whose write-back job was gone, queued again. */
  writeBacks: number;
  lastSweepAt?: string;
  lastError?: string;
}

const SCHEDULER_ID = 'reconcile';

/**
 * The record is the source of truth; the jobs in Redis are only a means to run it. When Redis
 * loses its data (a failover to a replica that lagged, a flushed or replaced instance), calls and
 * deliveries would wait forever for jobs that no longer exist. A periodic sweep – a BullMQ job
 * scheduler, so one replica runs each sweep – reads the records with work left that nobody has
 * written for a grace period and queues again those without a live job.
 *
 * The sweep also re-applies each caller's queue limits, which live in Redis and are lost with it.
 * Each replica re-registers the scheduler on every interval, since the scheduler is in Redis too.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly counts: ReconcileCounts = { sweeps: 0, toolCalls: 0, writeBacks: 0 };
  #worker: Worker | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    await this.#schedule();
    this.#timer = setInterval(() => {
      this.#schedule().catch((err: unknown) =>
        this.#o.logger.warn({ err: { message: (err as Error).message } }, 'could not register the reconcile sweep'),
      );
    }, this.#o.intervalMs);
    this.#timer.unref();
    this.#worker = new Worker(MAINTENANCE_QUEUE, async () => this.sweep(), {
      connection: this.#o.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true }),
      prefix: bullPrefix(this.#o.prefix),
      concurrency: 1,
    });
    this.#worker.on('error', (err) => this.#o.logger.error({ err, queue: MAINTENANCE_QUEUE }, 'worker error'));
    await this.#worker.waitUntilReady();
  }

  #schedule() {
    return this.#o.queues
      .maintenanceQueue()
      .upsertJobScheduler(
        SCHEDULER_ID,
        { every: this.#o.intervalMs },
        { name: SCHEDULER_ID, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
      );
  }

  /** One pass over the records with work left; returns what it queued again. */
  async sweep(): Promise<{ toolCalls: number; writeBacks: number }> {
    const found = { toolCalls: 0, writeBacks: 0 };
    try {
      await this.#reapplyLimits();
      const before = new Date(Date.now() - this.#o.graceMs).toISOString();
      for await (const page of this.#o.repository.withWorkLeft(before)) {
        for (const record of page) {
          const requeued = await this.#reconcile(record);
          found.toolCalls += requeued.toolCalls;
          found.writeBacks += requeued.writeBacks;
        }
      }
      delete this.counts.lastError;
      return found;
    } catch (err) {
      this.counts.lastError = (err as Error).message;
      this.#o.logger.warn({ err: { message: (err as Error).message } }, 'reconcile sweep failed; next one retries');
      throw err;
    } finally {
      this.counts.sweeps += 1;
      this.counts.toolCalls += found.toolCalls;
      this.counts.writeBacks += found.writeBacks;
      this.counts.lastSweepAt = new Date().toISOString();
      if (found.toolCalls + found.writeBacks > 0)
        this.#o.logger.warn(found, 'reconcile sweep queued stranded work again');
    }
  }

  async #reconcile(record: RecordWithWorkLeft): Promise<{ toolCalls: number; writeBacks: number }> {
    const { id: callId, caller } = record;
    const replay = record.replays ?? 0;
    const queues = this.#o.queues;
    // A live tool-call job either runs the call or makes the first write-back attempts (and queues
    // the retries) itself.
    if (await queues.hasLiveToolCall(caller, callId, replay)) return { toolCalls: 0, writeBacks: 0 };
    if (!finalStatuses.includes(record.status)) {
      await queues.enqueueToolCall({ callId, caller }, replay);
      this.#o.logger.warn({ callId, caller, status: record.status }, 'call had no job; queued again');
      return { toolCalls: 1, writeBacks: 0 };
    }
    let writeBacks = 0;
    for (const [target, delivery] of record.deliveries.entries()) {
      if (delivery.status !== 'pending' && delivery.status !== 'attempting') continue;
      if (await queues.hasLiveWriteBack(callId, target, replay)) continue;
      await queues.enqueueWriteBack({ callId, caller, target, replays: replay });
      this.#o.logger.warn({ callId, caller, target, delivery: delivery.status }, 'write-back had no job; queued again');
      writeBacks += 1;
    }
    return { toolCalls: 0, writeBacks };
  }

  async #reapplyLimits() {
    await Promise.all(
      this.#o.callers.map(async (caller) => {
        const queue = this.#o.queues.toolCallQueue(caller.id);
        await queue.setGlobalConcurrency(caller.limits.concurrency);
        await queue.setGlobalRateLimit(caller.limits.callsPerMinute, 60_000);
      }),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#worker?.close();
  }
}

import type { ToolCallJob, ToolCallRecord, WriteBackJob } from '@mcp-broker/contracts';
import { Job, type JobsOptions, Queue, type QueueOptions, SpanKind, type Telemetry, TelemetryAttributes } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  MAINTENANCE_QUEUE,
  toolCallJobId,
  toolCallQueueName,
  WRITE_BACK_QUEUE,
  writeBackJobId,
} from './queue-names.ts';
import { backoffDelay, defaultRetryPolicy, type RetryPolicy } from './retry-policy.ts';

export interface BrokerQueuesOptions {
  connection: Redis;
  /** BullMQ key prefix; lets several deployments or test runs share one Redis. */
  prefix: string;
  retry?: Partial<RetryPolicy>;
  /** Connection errors of the queues (a Redis outage); without it they are printed to stderr by BullMQ. */
  onError?: (err: Error) => void;
  /** BullMQ's telemetry option (bullmq-otel): each add is a span whose context the job carries. */
  telemetry?: Telemetry;
}

/** Enqueues the broker's jobs with ids derived from the call, so enqueueing twice is harmless. */
export class BrokerQueues {
  readonly retry: RetryPolicy;
  readonly #o: BrokerQueuesOptions;
  readonly #toolCalls = new Map<string, Queue<ToolCallJob>>();
  #writeBacks: Queue<WriteBackJob> | undefined;
  #maintenance: Queue | undefined;

  constructor(options: BrokerQueuesOptions) {
    this.#o = options;
    this.retry = { ...defaultRetryPolicy, ...options.retry };
  }

  get #queueOptions(): QueueOptions {
    return {
      connection: this.#o.connection,
      prefix: bullPrefix(this.#o.prefix),
      ...(this.#o.telemetry ? { telemetry: this.#o.telemetry } : {}),
    };
  }

  toolCallQueue(caller: string): Queue<ToolCallJob> {
    let queue = this.#toolCalls.get(caller);
    if (!queue) {
      queue = new Queue<ToolCallJob>(toolCallQueueName(caller), this.#queueOptions);
      queue.on('error', (err) => this.#o.onError?.(err));
      this.#toolCalls.set(caller, queue);
    }
    return queue;
  }

  writeBackQueue(): Queue<WriteBackJob> {
    if (!this.#writeBacks) {
      this.#writeBacks = new Queue<WriteBackJob>(WRITE_BACK_QUEUE, this.#queueOptions);
      this.#writeBacks.on('error', (err) => this.#o.onError?.(err));
    }
    return this.#writeBacks;
  }

  /**
   * Queues a call's job unless a live one (waiting, delayed, active) exists. A finished job under
   * the same id belongs to an earlier record with this id (one that expired, or a store that was
   * lost), and BullMQ would silently ignore the add: it is removed first.
   */
  async enqueueToolCall(job: ToolCallJob, replay = 0, options: { knownAbsent?: boolean } = {}): Promise<void> {
    const queue = this.toolCallQueue(job.caller);
    const jobId = toolCallJobId(job.callId, replay);
    await this.#guard(queue, async () => {
      // `knownAbsent`: the caller saw no key under this id (`toolCallJobAbsent`) since it took the
      // call's idempotency lock, so there is nothing to clear. A live job added since by another
      // process is kept anyway: BullMQ ignores an add under an existing id.
      if (!options.knownAbsent && !(await clearFinished(queue, jobId))) return;
      await queue.add('tool-call', job, this.#toolCallJobOptions(jobId));
    });
  }

  /**
   * Whether no job, live or finished, exists under the call's job id: one EXISTS, cheaper than the
   * state check `enqueueToolCall` makes otherwise, and askable before the record is written (the
   * id derives from the idempotency key), so intake asks it while the store creates the record.
   */
  async toolCallJobAbsent(caller: string, callId: string, replay = 0): Promise<boolean> {
    const queue = this.toolCallQueue(caller);
    return (await this.#o.connection.exists(queue.toKey(toolCallJobId(callId, replay)))) === 0;
  }

  /**
   * `enqueueToolCall` for many jobs (a group of accepted calls), with its rules: no job where a
   * live one exists, a finished one under the id removed first, the same job options. The common
   * case costs two round trips for the whole group: one pipelined EXISTS of every job's key (no
   * key: nothing to clear, as `clearFinished` would find), then one `addBulk` (a MULTI). A job
   * whose key exists takes `clearFinished`'s own path. A job added meanwhile by another process
   * is kept: BullMQ ignores an add under an existing id.
   *
   * With telemetry each job still gets its own `add <queue>.tool-call` PRODUCER span, child of
   * `traceContext` (`activeTraceContext()` where the job's request was handed in), and carries
   * that span's context like `enqueueToolCall`'s job does, so every call keeps its own trace. The
   * group's add is made without BullMQ's `addBulk` span, which would put every job of the group
   * under one event's trace.
   */
  async enqueueToolCalls(
    jobs: readonly { job: ToolCallJob; replay?: number; traceContext?: unknown }[],
  ): Promise<void> {
    const byCaller = new Map<string, { job: ToolCallJob; jobId: string; traceContext?: unknown }[]>();
    for (const { job, replay, traceContext } of jobs) {
      const entry = { job, jobId: toolCallJobId(job.callId, replay ?? 0), traceContext };
      const entries = byCaller.get(job.caller);
      if (entries) entries.push(entry);
      else byCaller.set(job.caller, [entry]);
    }
    await Promise.all(
      [...byCaller].map(async ([caller, entries]) => {
        const queue = this.toolCallQueue(caller);
        await this.#guard(queue, async () => {
          const pipeline = this.#o.connection.pipeline();
          for (const { jobId } of entries) pipeline.exists(queue.toKey(jobId));
          const replies = (await pipeline.exec()) ?? [];
          const addable = await Promise.all(
            entries.map(async ({ jobId }, i) => {
              const [error, exists] = replies[i] ?? [new Error('no reply'), 1];
              if (error) throw error;
              return exists === 0 || (await clearFinished(queue, jobId));
            }),
          );
          const toAdd = entries.filter((_, i) => addable[i]);
          if (toAdd.length === 0) return;
          const spans = toAdd.map((entry) => this.#addSpan(queue, entry.jobId, entry.traceContext));
          try {
            // Job.createBulk is addBulk without its span (each job has its own, above).
            await Job.createBulk(
              queue,
              toAdd.map(({ job, jobId }, i) => ({
                name: 'tool-call',
                data: job,
                opts: { ...this.#toolCallJobOptions(jobId), ...spans[i]?.telemetry },
              })),
            );
          } catch (err) {
            for (const span of spans) span?.span.recordException(err as Error);
            throw err;
          } finally {
            for (const span of spans) span?.span.end();
          }
        });
      }),
    );
  }

  /**
   * The active trace context (telemetry's context manager), to hand to `enqueueToolCalls` with a
   * job that is added later, from a group; undefined without telemetry.
   */
  activeTraceContext(): unknown {
    return this.#o.telemetry?.contextManager.active();
  }

  /**
   * Runs `fn` with `traceContext` (from `activeTraceContext()`) active, so what it queues and
   * stores is traced under that request; as it is without telemetry or a context.
   */
  withTraceContext<T>(traceContext: unknown, fn: () => T): T {
    const telemetry = this.#o.telemetry;
    return telemetry && traceContext !== undefined ? telemetry.contextManager.with(traceContext, fn) : fn();
  }

  /** The PRODUCER span BullMQ's `add` makes, made by hand for a job added in a group, and the context its job carries. */
  #addSpan(queue: Queue, jobId: string, traceContext: unknown) {
    const telemetry = this.#o.telemetry;
    if (!telemetry) return undefined;
    const parent = traceContext ?? telemetry.contextManager.active();
    const span = telemetry.tracer.startSpan(`add ${queue.name}.tool-call`, { kind: SpanKind.PRODUCER }, parent);
    span.setAttributes({
      [TelemetryAttributes.QueueName]: queue.name,
      [TelemetryAttributes.QueueOperation]: 'add',
      [TelemetryAttributes.JobName]: 'tool-call',
      [TelemetryAttributes.JobId]: jobId,
    });
    const metadata = telemetry.contextManager.getMetadata(span.setSpanOnContext(parent));
    return { span, telemetry: { telemetry: { metadata } } };
  }

  #toolCallJobOptions(jobId: string): JobsOptions {
    return {
      jobId,
      attempts: this.retry.toolCallAttempts,
      backoff: { type: 'broker' },
      // Completed jobs are not needed (the record is the truth), and deleting one at once costs
      // fewer Redis commands per call than keeping the last 1,000 and trimming the rest; failed
      // ones stay for inspection.
      removeOnComplete: true,
      removeOnFail: { age: 7 * 86_400 },
    };
  }

  /**
   * Queues a delivery. `retryAfterMs` marks a retry of an attempt already made (by the tool-call
   * job): the job waits that long, or the first backoff step when the receiver named no time.
   */
  async enqueueWriteBack(job: WriteBackJob, retry?: { retryAfterMs: number | undefined }): Promise<void> {
    const queue = this.writeBackQueue();
    const jobId = writeBackJobId(job.callId, job.target, job.replays ?? 0);
    await this.#guard(queue, async () => {
      if (!(await clearFinished(queue, jobId))) return;
      await queue.add('write-back', job, {
        jobId,
        ...(retry ? { delay: retry.retryAfterMs ?? backoffDelay(1, this.retry) } : {}),
        attempts: this.retry.writeBackAttempts,
        backoff: { type: 'broker' },
        removeOnComplete: { count: 1000 },
        removeOnFail: { age: 7 * 86_400 },
      });
    });
  }

  /**
   * One write-back job per target not yet delivered or failed on the record (idempotent). An
   * `attempting` one was cut short by a crash: its job makes the next attempt.
   */
  async enqueueWriteBacksFor(record: ToolCallRecord): Promise<void> {
    await Promise.all(
      record.deliveries.map((d, target) =>
        d.status === 'pending' || d.status === 'attempting'
          ? this.enqueueWriteBack({ callId: record.id, caller: record.caller, target, replays: record.replays ?? 0 })
          : undefined,
      ),
    );
  }

  /** The queue of the broker's own periodic jobs (the reconcile sweep), run by one replica at a time. */
  maintenanceQueue(): Queue {
    if (!this.#maintenance) {
      this.#maintenance = new Queue(MAINTENANCE_QUEUE, this.#queueOptions);
      this.#maintenance.on('error', (err) => this.#o.onError?.(err));
    }
    return this.#maintenance;
  }

  /** Whether a call's tool-call job will still run (waiting, delayed, active). */
  async hasLiveToolCall(caller: string, callId: string, replay = 0): Promise<boolean> {
    const queue = this.toolCallQueue(caller);
    return LIVE_STATES.has(await this.#guard(queue, () => queue.getJobState(toolCallJobId(callId, replay))));
  }

  /** Whether a delivery's write-back job will still run. */
  async hasLiveWriteBack(callId: string, target: number, replay = 0): Promise<boolean> {
    const queue = this.writeBackQueue();
    return LIVE_STATES.has(await this.#guard(queue, () => queue.getJobState(writeBackJobId(callId, target, replay))));
  }

  /** Removes a queued (waiting or delayed) tool-call job; false when it is already running or gone. */
  async removeQueuedToolCall(caller: string, callId: string, replay = 0): Promise<boolean> {
    const queue = this.toolCallQueue(caller);
    const job = await this.#guard(queue, () => queue.getJob(toolCallJobId(callId, replay)));
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs an operation on a cached queue and forgets the queue when it fails. BullMQ keeps a queue's
   * failed initialisation for good: a queue first used while Redis was gone would refuse every
   * later call (a caller answered 503 until restart). The next use builds a fresh one.
   */
  async #guard<T>(queue: Queue, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      let dropped = false;
      for (const [caller, cached] of this.#toolCalls) {
        if (cached === queue) {
          this.#toolCalls.delete(caller);
          dropped = true;
        }
      }
      if (this.#writeBacks === queue) {
        this.#writeBacks = undefined;
        dropped = true;
      }
      // The connection is shared (passed in), so closing the queue leaves it open.
      if (dropped) void queue.close().catch(() => {});
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [
        ...this.#toolCalls.values(),
        ...(this.#writeBacks ? [this.#writeBacks] : []),
        ...(this.#maintenance ? [this.#maintenance] : []),
      ].map((q) => q.close()),
    );
  }
}

/** Job states in which a job will still run (or is running): adding it again is a no-op. */
const LIVE_STATES = new Set<string>(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * Whether a job may be added under `jobId`: true when there is none, or only a finished one (which
 * is removed: the record, not the job, says whether work is left). False when a live one exists.
 */
async function clearFinished(queue: Queue, jobId: string): Promise<boolean> {
  const state = await queue.getJobState(jobId);
  if (state === 'unknown') return true;
  if (LIVE_STATES.has(state)) return false;
  await queue.remove(jobId).catch(() => {});
  return true;
}

/** BullMQ joins its prefix and queue names with ':'; the broker's key prefixes already end in one. */
export function bullPrefix(prefix: string): string {
  return prefix.replace(/:+$/, '') || 'bull';
}

import { bullPrefix, toolCallQueueName } from '@mcp-broker/broker';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * A call whose job left the queue's live states, as the queue's event stream told it:
 * `completed` (the job's return value is the record's final status), `removed` (a queued call
 * cancelled with its run) or `failed` (the job's last attempt failed: BullMQ appends `failed` to
 * the stream only when the job moves to the failed set; a retried attempt appends `delayed` or
 * `waiting`, which the window does not need).
 */
export interface FinishedCall {
  callId: string;
  /** The record's status the tool-call job returned (`completed` only). */
  status?: string;
  /** Whether the job is gone for good; false: ask Redis (the window checks the job's state). */
  final: boolean;
}

/** What a run's window listens to: the finished calls of its caller's queue. */
export interface CompletionFeed {
  /** Calls `listener` for each call that finishes from now on; returns the unsubscribe. */
  subscribe(listener: (call: FinishedCall) => void): () => void;
  /**
   * A call that finished a moment ago (among the last few hundred events): a trivial tool can end
   * before `accept()` has returned, so before the window holds its id.
   */
  recent(callId: string): FinishedCall | undefined;
}

const RECENT = 512;

/**
 * The finished calls of one caller's tool-call queue, from BullMQ's event stream (`QueueEvents`:
 * a blocking `XREAD` on the queue's events, which the worker's `moveToFinished` appends to in the
 * same script that finishes the job). One per caller and process, shared by its runs: the run
 * hears of a finished call within a Redis round trip instead of polling each job's state.
 */
export class CallCompletions implements CompletionFeed {
  readonly #events: QueueEvents;
  readonly #listeners = new Set<(call: FinishedCall) => void>();
  readonly #recent = new Map<string, FinishedCall>();

  constructor(options: { caller: string; redis: Redis; prefix: string; logger: Logger }) {
    this.#events = new QueueEvents(toolCallQueueName(options.caller), {
      connection: options.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true }),
      prefix: bullPrefix(options.prefix),
    });
    this.#events.on('error', (err) =>
      options.logger.warn({ err: { message: err.message }, caller: options.caller }, 'batch completion events error'),
    );
    this.#events.on('completed', ({ jobId, returnvalue }) =>
      this.#emit(jobId, { final: true, ...(typeof returnvalue === 'string' ? { status: returnvalue } : {}) }),
    );
    this.#events.on('removed', ({ jobId }) => this.#emit(jobId, { final: true }));
    this.#events.on('failed', ({ jobId }) => this.#emit(jobId, { final: true }));
  }

  async ready(): Promise<void> {
    await this.#events.waitUntilReady();
  }

  subscribe(listener: (call: FinishedCall) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  recent(callId: string): FinishedCall | undefined {
    return this.#recent.get(callId);
  }

  #emit(jobId: string, event: Omit<FinishedCall, 'callId'>): void {
    // A run's calls are first-generation calls, whose job id is the call id (a replay's job id
    // carries its generation and matches no window).
    const callId = jobId;
    const call = { callId, ...event };
    this.#recent.delete(callId);
    this.#recent.set(callId, call);
    if (this.#recent.size > RECENT) this.#recent.delete(this.#recent.keys().next().value as string);
    for (const listener of this.#listeners) listener(call);
  }

  async close(): Promise<void> {
    await this.#events.close();
  }
}

import type { Delivery, ToolCallRecord, WriteBackTarget } from '@mcp-broker/contracts';
import { Deadline } from '@mcp-broker/resilience';
import type { Logger } from 'pino';
import type { BrokerQueues } from '../queues/broker-queues.ts';
import type { ToolCallRepository } from '../record/tool-call-repository.ts';
import { DeliveryError, type WriteBackTargetHandler } from './write-back-target-handler.ts';

export interface WriteBackDeliveryOptions {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  handlers: readonly WriteBackTargetHandler[];
  logger: Logger;
  /**
   * Budget for the first delivery attempt, made by the tool-call job right after the outcome is
   * stored, in ms; 0 leaves every delivery to write-back jobs. Default 10,000. A target whose own
   * timeout is longer is left to a write-back job, so no attempt is cut off before the target's time.
   */
  inlineTimeoutMs?: number;
  /** Budget for one attempt in a write-back job at a target that sets no timeout, in ms. Default 60,000. */
  jobTimeoutMs?: number;
  /** Counts each attempt (by target type and result) where metrics are kept. */
  metrics?: WriteBackMetrics;
}

/** What the delivery reports to metrics: one call per attempt, wherever it was made. */
export interface WriteBackMetrics {
  writeBackAttempt(record: ToolCallRecord, targetType: string, result: AttemptOutcome['status']): void;
}

/** What one attempt did to one delivery. */
export type AttemptOutcome =
  | { status: 'delivered'; receipt: Record<string, unknown> }
  | { status: 'failed' | 'pending'; error: DeliveryError };

/**
 * A delivery about to be attempted: counted and marked `attempting` before anything is sent. One
 * found `attempting` already was cut short (the worker died during it): the target may have
 * received it, so that attempt is counted as unconfirmed.
 */
export function claimed(delivery: Delivery, now: string): Delivery {
  return {
    ...delivery,
    status: 'attempting',
    attempts: delivery.attempts + 1,
    attemptStartedAt: now,
    ...(delivery.status === 'attempting' ? { unconfirmedAttempts: (delivery.unconfirmedAttempts ?? 0) + 1 } : {}),
  };
}

/** Whether a delivery still has to reach its target (`attempting`: one attempt was cut short). */
export function isUndelivered(delivery: Delivery | undefined): boolean {
  return delivery?.status === 'pending' || delivery?.status === 'attempting';
}

/**
 * Delivers a call's outcome to its write-back targets, at least once, each attempt counted on the
 * record before it is sent. The promise is exact rather than "once": an attempt whose end was never
 * recorded (a crash, a timeout after sending) is made again with the same idempotency key, and the
 * record counts it in `unconfirmedAttempts`, so receivers dedupe by the key.
 *
 * The first attempt runs inside the tool-call job and is claimed by the same write that stores the
 * outcome, so the common case costs no extra write, no second job and no second read; a target
 * that fails transiently gets its own write-back job, retried with backoff without calling the
 * tool again.
 */
export class WriteBackDelivery {
  readonly #o: WriteBackDeliveryOptions;
  readonly #byType: Map<string, WriteBackTargetHandler>;

  constructor(options: WriteBackDeliveryOptions) {
    this.#o = options;
    this.#byType = new Map(options.handlers.map((h) => [h.type, h]));
  }

  #handlerFor(target: WriteBackTarget) {
    return this.#byType.get(target.type) as WriteBackTargetHandler<WriteBackTarget> | undefined;
  }

  /** The time one attempt at a target may take: the target's own, else `fallbackMs`. */
  budgetFor(target: WriteBackTarget, fallbackMs: number): number {
    return this.#handlerFor(target)?.timeoutFor?.(target) ?? fallbackMs;
  }

  get #inlineTimeoutMs() {
    return this.#o.inlineTimeoutMs ?? 10_000;
  }

  /**
   * The deliveries as the write that stores the outcome should leave them: those the tool-call job
   * will attempt right away are claimed in that same write.
   */
  claimInline(deliveries: readonly Delivery[], now: string): Delivery[] {
    const inline = this.#inlineTimeoutMs;
    return deliveries.map((d) =>
      d.status === 'pending' && inline > 0 && this.budgetFor(d.target, inline) <= inline ? claimed(d, now) : d,
    );
  }

  /** Claims one delivery for an attempt (one write); undefined when it needs none any more. */
  async claim(record: ToolCallRecord, index: number): Promise<ToolCallRecord | undefined> {
    const saved = await this.#o.repository.apply(
      record.caller,
      record.id,
      (current, now) => {
        const d = current.deliveries[index];
        if (!d || !isUndelivered(d)) return undefined;
        return { ...current, deliveries: current.deliveries.map((x, i) => (i === index ? claimed(x, now) : x)) };
      },
      record,
    );
    return saved?.changed && saved.record.deliveries[index]?.status === 'attempting' ? saved.record : undefined;
  }

  /** One attempt at one claimed target; `lastAttempt` turns a transient failure into a final one. */
  async attempt(
    record: ToolCallRecord,
    index: number,
    timeoutMs: number,
    lastAttempt: boolean,
  ): Promise<AttemptOutcome> {
    const delivery = record.deliveries[index];
    if (!delivery) throw new Error(`No write-back target ${index} on ${record.id}.`);
    const handler = this.#handlerFor(delivery.target);
    if (!handler) {
      return {
        status: 'failed',
        error: new DeliveryError('permanent', 'TARGET_UNSUPPORTED', `No handler for ${delivery.target.type}.`),
      };
    }
    const deadline = new Deadline(timeoutMs, { what: 'The attempt' });
    try {
      const receipt = await handler.deliver(delivery.target, { record, targetIndex: index, signal: deadline.signal });
      return { status: 'delivered', receipt };
    } catch (err) {
      const error =
        err instanceof DeliveryError ? err : new DeliveryError('transient', 'DELIVERY_ERROR', (err as Error).message);
      return { status: error.kind === 'permanent' || lastAttempt ? 'failed' : 'pending', error };
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Stores attempt outcomes on the record in one write. Only the attempts this run claimed are
   * ended: a delivery claimed again since (by another job, after this one was given up for dead)
   * is left to that attempt.
   */
  async store(
    claimedRecord: ToolCallRecord,
    outcomes: ReadonlyMap<number, AttemptOutcome>,
  ): Promise<ToolCallRecord | undefined> {
    const saved = await this.#o.repository.apply(
      claimedRecord.caller,
      claimedRecord.id,
      (current, now) => {
        let changed = false;
        const deliveries = current.deliveries.map((d, i): Delivery => {
          const outcome = outcomes.get(i);
          const mine = claimedRecord.deliveries[i];
          if (!outcome || d.status !== 'attempting' || d.attempts !== mine?.attempts) return d;
          changed = true;
          const ended: Delivery = { ...d, status: outcome.status };
          if (outcome.status === 'delivered') return { ...ended, deliveredAt: now, receipt: outcome.receipt };
          return {
            ...ended,
            ...(outcome.error.unconfirmed ? { unconfirmedAttempts: (d.unconfirmedAttempts ?? 0) + 1 } : {}),
            lastError: { code: outcome.error.code, message: outcome.error.message },
          };
        });
        return changed ? { ...current, deliveries } : undefined;
      },
      claimedRecord,
    );
    return saved?.record;
  }

  /**
   * Right after the outcome was stored, with the inline attempts claimed by that write: makes
   * them, records them in one write, and queues a write-back job for every target left to retry
   * or not attempted here. A crash before the jobs are queued is repaired by the redelivered
   * tool-call job, which queues every target not yet done.
   */
  async afterOutcome(record: ToolCallRecord): Promise<void> {
    const inline = record.deliveries.flatMap((d, i) => (d.status === 'attempting' ? [i] : []));
    const queued = record.deliveries.flatMap((d, i) => (d.status === 'pending' ? [i] : []));
    const outcomes = new Map<number, AttemptOutcome>();
    await Promise.all(
      inline.map(async (i) => {
        const budget = this.budgetFor((record.deliveries[i] as Delivery).target, this.#inlineTimeoutMs);
        outcomes.set(i, await this.attempt(record, i, budget, false));
      }),
    );
    const saved = inline.length > 0 ? ((await this.store(record, outcomes)) ?? record) : record;
    this.report(record, outcomes);
    const job = (target: number) => ({
      callId: record.id,
      caller: record.caller,
      target,
      replays: record.replays ?? 0,
    });
    await Promise.all([
      ...queued.map((target) => this.#o.queues.enqueueWriteBack(job(target))),
      ...inline.map((target) =>
        saved.deliveries[target]?.status === 'pending'
          ? this.#o.queues.enqueueWriteBack(job(target), { retryAfterMs: retryAfter(outcomes.get(target)) })
          : undefined,
      ),
    ]);
  }

  /** One log line per attempt, the same wherever the attempt was made. */
  report(record: ToolCallRecord, outcomes: ReadonlyMap<number, AttemptOutcome>) {
    for (const [target, outcome] of outcomes) {
      const fields = { callId: record.id, caller: record.caller, target, type: record.deliveries[target]?.target.type };
      this.#o.metrics?.writeBackAttempt(record, fields.type ?? 'unknown', outcome.status);
      if (outcome.status === 'delivered') this.#o.logger.info(fields, 'write-back delivered');
      else if (outcome.status === 'failed') {
        this.#o.logger.warn({ ...fields, code: outcome.error.code }, 'write-back failed for good');
      } else {
        this.#o.logger.info(
          { ...fields, code: outcome.error.code, ...(outcome.error.unconfirmed ? { unconfirmed: true } : {}) },
          'write-back will be retried',
        );
      }
    }
  }

  get jobTimeoutMs() {
    return this.#o.jobTimeoutMs ?? 60_000;
  }
}

function retryAfter(outcome: AttemptOutcome | undefined): number | undefined {
  return outcome && outcome.status !== 'delivered' ? outcome.error.retryAfterMs : undefined;
}

import type { Delivery, ToolCallRecord, WriteBackTarget } from '@mcp-broker/contracts';
import type { BrokerQueues } from '@mcp-broker/queues';
import type { ToolCallRepository } from '@mcp-broker/tool-call-store';
import { DeliveryError, type WriteBackTargetHandler } from '@mcp-broker/write-back';
import type { Logger } from 'pino';

export interface WriteBackDeliveryOptions {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  handlers: readonly WriteBackTargetHandler[];
  logger: Logger;
  /**
   * Budget for the first delivery attempt, made by the tool-call job right after the outcome is
   * stored, in ms; 0 leaves every delivery to write-back jobs. Default 10,000.
   */
  inlineTimeoutMs?: number;
  /** Budget for one attempt in a write-back job, in ms. Default 60,000. */
  jobTimeoutMs?: number;
}

/** What one attempt did to one delivery. */
export type AttemptOutcome =
  | { status: 'delivered'; receipt: Record<string, unknown> }
  | { status: 'failed' | 'pending'; error: DeliveryError };

/**
 * Delivers a call's outcome to its write-back targets. The first attempt runs inside the tool-call
 * job, so the common case costs no second job and no second read of the record; a target that
 * fails transiently gets its own write-back job, retried with backoff without calling the tool again.
 */
export class WriteBackDelivery {
  readonly #o: WriteBackDeliveryOptions;
  readonly #byType: Map<string, WriteBackTargetHandler>;

  constructor(options: WriteBackDeliveryOptions) {
    this.#o = options;
    this.#byType = new Map(options.handlers.map((h) => [h.type, h]));
  }

  /** One attempt at one target; `lastAttempt` turns a transient failure into a final one. */
  async attempt(
    record: ToolCallRecord,
    index: number,
    timeoutMs: number,
    lastAttempt: boolean,
  ): Promise<AttemptOutcome> {
    const delivery = record.deliveries[index];
    if (!delivery) throw new Error(`No write-back target ${index} on ${record.id}.`);
    const handler = this.#byType.get(delivery.target.type) as WriteBackTargetHandler<WriteBackTarget> | undefined;
    if (!handler) {
      return {
        status: 'failed',
        error: new DeliveryError('permanent', 'TARGET_UNSUPPORTED', `No handler for ${delivery.target.type}.`),
      };
    }
    try {
      const receipt = await handler.deliver(delivery.target, {
        record,
        targetIndex: index,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: 'delivered', receipt };
    } catch (err) {
      const error =
        err instanceof DeliveryError ? err : new DeliveryError('transient', 'DELIVERY_ERROR', (err as Error).message);
      return { status: error.kind === 'permanent' || lastAttempt ? 'failed' : 'pending', error };
    }
  }

  /** Stores attempt outcomes on the record in one write; deliveries no longer pending are left alone. */
  store(record: ToolCallRecord, outcomes: ReadonlyMap<number, AttemptOutcome>): Promise<ToolCallRecord | undefined> {
    return this.#o.repository.update(
      record.caller,
      record.id,
      (current, now) => {
        let changed = false;
        const deliveries = current.deliveries.map((d, i): Delivery => {
          const outcome = outcomes.get(i);
          if (!outcome || d.status !== 'pending') return d;
          changed = true;
          const next: Delivery = { ...d, attempts: d.attempts + 1, status: outcome.status };
          if (outcome.status === 'delivered') return { ...next, deliveredAt: now, receipt: outcome.receipt };
          return { ...next, lastError: { code: outcome.error.code, message: outcome.error.message } };
        });
        return changed ? { ...current, deliveries } : undefined;
      },
      record,
    );
  }

  /**
   * Right after the outcome is stored: first attempt at every pending target, one write for all of
   * them, and a write-back job only for those that must be retried. A crash before the jobs are
   * queued is repaired by the redelivered tool-call job, which queues what is still pending.
   */
  async afterOutcome(record: ToolCallRecord): Promise<void> {
    const pending = record.deliveries.flatMap((d, i) => (d.status === 'pending' ? [i] : []));
    if (pending.length === 0) return;
    const timeoutMs = this.#o.inlineTimeoutMs ?? 10_000;
    if (timeoutMs <= 0) {
      await this.#o.queues.enqueueWriteBacksFor(record);
      return;
    }
    const outcomes = new Map<number, AttemptOutcome>();
    await Promise.all(pending.map(async (i) => outcomes.set(i, await this.attempt(record, i, timeoutMs, false))));
    const saved = await this.store(record, outcomes);
    this.report(record, outcomes);
    const retry = saved ?? record;
    await Promise.all(
      pending.map((target) =>
        retry.deliveries[target]?.status === 'pending'
          ? this.#o.queues.enqueueWriteBack(
              { callId: record.id, caller: record.caller, target, replays: record.replays ?? 0 },
              { retryAfterMs: retryAfter(outcomes.get(target)) },
            )
          : undefined,
      ),
    );
  }

  /** One log line per attempt, the same wherever the attempt was made. */
  report(record: ToolCallRecord, outcomes: ReadonlyMap<number, AttemptOutcome>) {
    for (const [target, outcome] of outcomes) {
      const fields = { callId: record.id, caller: record.caller, target, type: record.deliveries[target]?.target.type };
      if (outcome.status === 'delivered') this.#o.logger.info(fields, 'write-back delivered');
      else if (outcome.status === 'failed') {
        this.#o.logger.warn({ ...fields, code: outcome.error.code }, 'write-back failed for good');
      } else this.#o.logger.info({ ...fields, code: outcome.error.code }, 'write-back will be retried');
    }
  }

  get jobTimeoutMs() {
    return this.#o.jobTimeoutMs ?? 60_000;
  }
}

function retryAfter(outcome: AttemptOutcome | undefined): number | undefined {
  return outcome && outcome.status !== 'delivered' ? outcome.error.retryAfterMs : undefined;
}

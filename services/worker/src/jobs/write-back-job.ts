import type { ToolCallRepository } from '@mcp-broker/broker';
import { isUndelivered, type WriteBackDelivery } from '@mcp-broker/broker';
import type { WriteBackJob } from '@mcp-broker/contracts';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';

export interface WriteBackJobDeps {
  repository: ToolCallRepository;
  delivery: WriteBackDelivery;
  logger: Logger;
}

/** Waits a receiver may ask for (429/503 with Retry-After) beyond the job's own attempts. */
export const MAX_RETRY_AFTER_WAITS = 50;

/**
 * Whether this attempt is the last: the job's attempts are spent, or the delivery has been tried
 * so often that even the waits a receiver asked for (which BullMQ does not count as attempts)
 * must end, so a receiver answering 429 forever cannot keep a delivery pending forever.
 */
export function isLastAttempt(jobAttemptsMade: number, jobAttempts: number, deliveryAttempts: number): boolean {
  return jobAttemptsMade + 1 >= jobAttempts || deliveryAttempts + 1 >= jobAttempts + MAX_RETRY_AFTER_WAITS;
}

/**
 * Retries one target of one call. The tool is never called again here; a delivery already marked
 * delivered (or failed for good) is skipped. Each attempt is claimed on the record before it is
 * sent; a delivery found `attempting` was cut short by a crash, and the claim counts that attempt
 * as unconfirmed before sending again with the same idempotency key.
 */
export function writeBackProcessor(deps: WriteBackJobDeps) {
  return async (job: Job<WriteBackJob>, token: string | undefined): Promise<string> => {
    const { callId, caller, target } = job.data;
    const log = deps.logger.child({ callId, caller, target });
    const record = await deps.repository.get(caller, callId);
    const delivery = record?.deliveries[target];
    if (!record || !delivery) {
      log.warn('write-back for an unknown call or target; dropped');
      return 'missing';
    }
    if (!isUndelivered(delivery)) return delivery.status;
    const last = isLastAttempt(job.attemptsMade, job.opts.attempts ?? 1, delivery.attempts);
    const claimedRecord = await deps.delivery.claim(record, target);
    if (!claimedRecord) return 'settled';
    const budget = deps.delivery.budgetFor(delivery.target, deps.delivery.jobTimeoutMs);
    const outcome = await deps.delivery.attempt(claimedRecord, target, budget, last);
    const outcomes = new Map([[target, outcome]]);
    await deps.delivery.store(claimedRecord, outcomes);
    deps.delivery.report(claimedRecord, outcomes);
    if (outcome.status !== 'pending') return outcome.status;
    if (outcome.error.retryAfterMs && token) {
      // The receiver said when: wait that long rather than the backoff.
      await job.moveToDelayed(Date.now() + outcome.error.retryAfterMs, token);
      throw new DelayedError();
    }
    throw outcome.error;
  };
}

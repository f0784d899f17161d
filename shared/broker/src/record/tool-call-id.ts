import { createHash } from 'node:crypto';

/**
 * The call id derives from (caller, idempotency key), so a redelivered event or a retried submission
 * lands on the same record and the same queue job. Hex only: BullMQ job ids cannot contain ':'.
 */
export function toolCallId(caller: string, idempotencyKey: string): string {
  return `tc_${createHash('sha256').update(`${caller}\u0000${idempotencyKey}`).digest('hex').slice(0, 40)}`;
}

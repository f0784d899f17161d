import { createHash } from 'node:crypto';

const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);

/**
 * A run's id derives from what started it: a tick of the schedule's job scheduler (its job id is
 * unique per tick, so a tick handled twice is one run), or an API request's idempotency key (so a
 * retried start is the same run). Hex only: BullMQ job ids cannot contain ':'.
 */
export function batchRunId(caller: string, schedule: string, startedBy: 'schedule' | 'api', startKey: string): string {
  return `br_${digest(caller, schedule, startedBy, startKey)}`;
}

/** The idempotency key of one record's call: (schedule, run, record id). */
export function batchCallKey(schedule: string, runId: string, recordId: string): string {
  return `batch/${schedule}/${runId}/${recordId}`;
}

/** The record id back from a call's idempotency key (for the write-back); undefined for another key. */
export function recordIdOfCallKey(key: string, schedule: string, runId: string): string | undefined {
  const prefix = `batch/${schedule}/${runId}/`;
  return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}

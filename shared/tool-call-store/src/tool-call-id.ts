import { createHash } from 'node:crypto';

/**
 * The call id derives from (caller, idempotency key), so a redelivered event or a retried submission
 * lands on the same record and the same queue job. Hex only: BullMQ job ids cannot contain ':'.
 */
export function toolCallId(caller: string, idempotencyKey: string): string {
  return `tc_${createHash('sha256').update(`${caller}\u0000${idempotencyKey}`).digest('hex').slice(0, 40)}`;
}

/** sha256 of the canonical JSON of a request body: equal bodies hash equally whatever the key order. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

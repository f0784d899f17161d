import { randomUUID } from 'node:crypto';

const WELL_FORMED = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Accepts a caller's `X-Request-ID` when well formed (1–128 safe characters); otherwise mints a UUID. */
export function resolveRequestId(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && WELL_FORMED.test(value) ? value : randomUUID();
}

export interface TraceContext {
  traceId: string;
  parentId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a W3C `traceparent` header; returns undefined for anything malformed or all-zero. */
export function parseTraceparent(header: string | string[] | undefined): TraceContext | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? TRACEPARENT.exec(value.trim().toLowerCase()) : null;
  if (!m) return undefined;
  const [, version, traceId, parentId, flags] = m as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

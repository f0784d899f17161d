/** A peer asking for a longer wait than this is capped to it: a job is not parked for days on one header. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60 * 60_000;

export interface RetryAfterOptions {
  /** The clock an HTTP date is measured from. Default `Date.now()`. */
  now?: number;
  /** Longest wait returned. Default one hour. */
  maxMs?: number;
}

/**
 * `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`, capped at
 * `maxMs`. A date in the past is 0; anything else unreadable is `undefined` (the caller's own
 * backoff applies). Node gives a repeated header as an array: the first counts.
 */
export function parseRetryAfter(
  value: string | readonly string[] | null | undefined,
  options: RetryAfterOptions = {},
): number | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  if (trimmed === '') return undefined;
  const maxMs = options.maxMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  if (/^\d+$/.test(trimmed)) return Math.min(maxMs, Number(trimmed) * 1000);
  // Every HTTP-date form starts with a day name; `Date.parse` alone would read "-5" or "1.5" as a year.
  const at = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.min(maxMs, Math.max(0, at - (options.now ?? Date.now())));
}

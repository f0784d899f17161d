import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry-after.ts';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('12', { now })).toBe(12_000);
    expect(parseRetryAfter(' 0 ', { now })).toBe(0);
  });

  it('reads an HTTP date as the time left until it, and a past date as 0', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', { now })).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', { now })).toBe(0);
  });

  it('caps a long wait, by default at one hour', () => {
    expect(parseRetryAfter('999999', { now })).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2027 00:00:00 GMT', { now, maxMs: 5000 })).toBe(5000);
  });

  it('ignores what it cannot read', () => {
    for (const value of ['soon', '-5', '1.5', '', null, undefined])
      expect(parseRetryAfter(value, { now })).toBeUndefined();
  });

  it('takes the first of a repeated header', () => {
    expect(parseRetryAfter(['3', '9'], { now })).toBe(3000);
  });
});

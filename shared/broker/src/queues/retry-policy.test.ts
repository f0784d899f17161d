import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultRetryPolicy } from './retry-policy.ts';

describe('backoff', () => {
  it('doubles the cap each attempt up to the maximum, with full jitter', () => {
    const policy = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(3, policy, () => 0)).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from './backoff.ts';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap, the whole ceiling at random = 1', () => {
    const top = { ...policy, random: () => 1 };
    expect([1, 2, 3, 4, 7, 8, 100].map((a) => backoffDelay(a, top))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ]);
  });

  it('full jitter spreads from 1 ms to the ceiling', () => {
    expect(backoffDelay(3, { ...policy, random: () => 0 })).toBe(1);
    expect(backoffDelay(3, { ...policy, random: () => 0.5 })).toBe(2000);
  });

  it('equal jitter stays between half and all of the ceiling', () => {
    expect(backoffDelay(3, { ...policy, jitter: 'equal', random: () => 0 })).toBe(2000);
    expect(backoffDelay(3, { ...policy, jitter: 'equal', random: () => 1 })).toBe(4000);
  });

  it('stays finite for a zero base and huge attempt numbers', () => {
    expect(backoffDelay(10_000, { baseDelayMs: 0, maxDelayMs: 10, random: () => 1 })).toBe(1);
    expect(backoffDelay(10_000, { ...policy, random: () => 1 })).toBe(60_000);
  });
});

describe('Backoff', () => {
  it('counts its own attempts and starts over after reset', () => {
    const backoff = new Backoff({ ...policy, jitter: 'equal', random: () => 1 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([1000, 2000, 4000]);
    backoff.reset();
    expect(backoff.next()).toBe(1000);
  });
});

import { describe, expect, it } from 'vitest';
import { BasicLoginThrottle } from './basic-login-throttle.ts';

// The throttle on its own, with a stand-in password check that counts its runs and takes a few ms
// (so concurrent checks overlap, as scrypt's do).

function checker(good: Set<string>) {
  const runs = { count: 0 };
  const verify = (password: string) => async () => {
    runs.count++;
    await new Promise((r) => setTimeout(r, 5));
    return good.has(password) ? { password } : undefined;
  };
  return { runs, verify };
}
const attempt = (credential: string, address = '10.0.0.1') => ({ username: 'apex', address, credential });

describe('BasicLoginThrottle.check', () => {
  it('refuses guesses past the limit unchecked, also when they arrive at once', async () => {
    const { runs, verify } = checker(new Set());
    const throttle = new BasicLoginThrottle({ perUsername: 3, perAddress: 100, total: 100 });
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => throttle.check(attempt(`guess-${i}`), verify(`guess-${i}`))),
    );
    expect(runs.count).toBe(3);
    expect(outcomes.filter((o) => o.outcome === 'rejected')).toHaveLength(3);
    expect(outcomes.filter((o) => o.outcome === 'throttled')).toHaveLength(27);
    expect(outcomes.find((o) => o.outcome === 'throttled')).toMatchObject({ retryAfterSeconds: expect.any(Number) });
  });

  it('a good credential sent by many requests at once is one check, none throttled', async () => {
    const { runs, verify } = checker(new Set(['right']));
    const throttle = new BasicLoginThrottle({ perUsername: 2, perAddress: 2, total: 2 });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => throttle.check(attempt('h-right'), verify('right'))),
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(50).fill('verified'));
    expect(runs.count).toBe(1);
  });

  it('the same wrong credential sent at once is one failed attempt, not many', async () => {
    const { runs, verify } = checker(new Set(['right']));
    const throttle = new BasicLoginThrottle({ perUsername: 2, perAddress: 100, total: 100 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => throttle.check(attempt('h-wrong'), verify('wrong'))),
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(20).fill('rejected'));
    expect(runs.count).toBe(1);
    // One failure counted: one more distinct guess is still checked.
    expect((await throttle.check(attempt('h-other'), verify('other'))).outcome).toBe('rejected');
    expect((await throttle.check(attempt('h-third'), verify('third'))).outcome).toBe('throttled');
  });

  it('a credential verified before the guessing is checked outside the full window; an unseen one is not', async () => {
    const { runs, verify } = checker(new Set(['right', 'also-right']));
    const throttle = new BasicLoginThrottle({ perUsername: 2, perAddress: 2, total: 2 });
    expect((await throttle.check(attempt('h-right'), verify('right'))).outcome).toBe('verified');
    for (let i = 0; i < 10; i++) await throttle.check(attempt(`h-guess-${i}`, '10.6.6.6'), verify(`guess-${i}`));
    expect(runs.count).toBe(3);
    expect(await throttle.check(attempt('h-right', '10.0.0.9'), verify('right'))).toMatchObject({
      outcome: 'verified',
    });
    expect(runs.count).toBe(4);
    // Never verified: it competes with the guesses, and the window is full.
    expect((await throttle.check(attempt('h-also-right'), verify('also-right'))).outcome).toBe('throttled');
    expect(runs.count).toBe(4);
  });

  it('a known credential that stops verifying is forgotten, and from then on throttled like a guess', async () => {
    const good = new Set(['right']);
    const { verify } = checker(good);
    const throttle = new BasicLoginThrottle({ perUsername: 1, perAddress: 100, total: 100 });
    expect((await throttle.check(attempt('h-right'), verify('right'))).outcome).toBe('verified');
    good.delete('right');
    expect((await throttle.check(attempt('h-right'), verify('right'))).outcome).toBe('rejected');
    expect((await throttle.check(attempt('h-guess'), verify('guess'))).outcome).toBe('rejected');
    expect((await throttle.check(attempt('h-right'), verify('right'))).outcome).toBe('throttled');
  });

  it('a password check that throws counts as a failure and is not joined afterwards', async () => {
    const throttle = new BasicLoginThrottle({ perUsername: 1, perAddress: 100, total: 100 });
    await expect(
      throttle.check(attempt('h-x'), async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await throttle.check(attempt('h-y'), async () => undefined)).outcome).toBe('throttled');
  });
});

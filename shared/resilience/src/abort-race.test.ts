import { describe, expect, it } from 'vitest';
import { raceAbort } from './abort-race.ts';

const never = () => new Promise<never>(() => {});

describe('raceAbort', () => {
  it('settles with the work when nothing aborts', async () => {
    await expect(
      raceAbort(Promise.resolve(7), { signal: new AbortController().signal, timeoutMs: 1000 }),
    ).resolves.toBe(7);
    await expect(raceAbort(Promise.reject(new Error('boom')), { timeoutMs: 1000 })).rejects.toThrow('boom');
  });

  it('rejects with the signal reason as soon as the signal aborts, without waiting for the work', async () => {
    const controller = new AbortController();
    const race = raceAbort(never(), { signal: controller.signal });
    controller.abort(new Error('stopped'));
    await expect(race).rejects.toThrow('stopped');
  });

  it('rejects at once with the chosen reason when the signal has already aborted', async () => {
    const signal = AbortSignal.abort();
    await expect(raceAbort(never(), { signal, onAbort: () => new Error('cancelled lookup') })).rejects.toThrow(
      'cancelled lookup',
    );
  });

  it('rejects with a TimeoutError, or the chosen reason, when the timeout passes first', async () => {
    await expect(raceAbort(never(), { timeoutMs: 5 })).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(
      raceAbort(never(), { timeoutMs: 5, onTimeout: () => new Error('redis did not answer') }),
    ).rejects.toThrow('redis did not answer');
  });

  it('leaves no unhandled rejection when the work fails after losing the race', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let fail: (e: Error) => void = () => {};
      const work = new Promise<never>((_, reject) => {
        fail = reject;
      });
      await expect(raceAbort(work, { timeoutMs: 1 })).rejects.toMatchObject({ name: 'TimeoutError' });
      fail(new Error('late'));
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('returns the work itself when given neither signal nor timeout', () => {
    const work = Promise.resolve(1);
    expect(raceAbort(work, {})).toBe(work);
  });
});

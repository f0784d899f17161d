import { describe, expect, it } from 'vitest';
import { CallPacer } from './call-pacer.ts';

describe('call pacer', () => {
  it('spaces calls evenly so that no minute holds more than callsPerMinute', async () => {
    const slept: number[] = [];
    const pacer = new CallPacer(600, async (ms) => {
      slept.push(ms);
    });
    for (let i = 0; i < 5; i++) await pacer.wait();
    // The first goes at once; each later one is booked 100 ms after the one before.
    expect(slept).toHaveLength(4);
    slept.forEach((ms, i) => {
      expect(ms).toBeGreaterThan((i + 1) * 100 - 20);
      expect(ms).toBeLessThanOrEqual((i + 1) * 100);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { boundedCheck } from './health-app.ts';

describe('boundedCheck', () => {
  it('fails a check that does not answer within its time, naming it', async () => {
    const hanging = boundedCheck('redis', () => new Promise<void>(() => {}), 10);
    await expect(hanging()).rejects.toThrow('redis did not answer within 10 ms');
  });

  it('passes through a check that answers, and its own failure', async () => {
    await expect(boundedCheck('store', async () => {}, 1000)()).resolves.toBeUndefined();
    await expect(
      boundedCheck(
        'store',
        async () => {
          throw new Error('store down');
        },
        1000,
      )(),
    ).rejects.toThrow('store down');
  });
});

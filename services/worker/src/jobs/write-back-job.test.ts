import { describe, expect, it } from 'vitest';
import { isLastAttempt, MAX_RETRY_AFTER_WAITS } from './write-back-job.ts';

describe('write-back attempts', () => {
  it('the job’s last attempt is the last', () => {
    expect(isLastAttempt(0, 8, 1)).toBe(false);
    expect(isLastAttempt(7, 8, 8)).toBe(true);
  });

  it('a receiver asking to wait again and again is given up on after the job’s attempts plus 50 waits', () => {
    // Retry-After waits do not spend BullMQ attempts, so attemptsMade stays low while the delivery's count grows.
    expect(isLastAttempt(1, 8, 8 + MAX_RETRY_AFTER_WAITS - 2)).toBe(false);
    expect(isLastAttempt(1, 8, 8 + MAX_RETRY_AFTER_WAITS - 1)).toBe(true);
  });
});

/** How hard the broker retries; one object so ingress, worker and docs agree. */
export interface RetryPolicy {
  /** Attempts per tool call, the first included. Default 5. */
  toolCallAttempts: number;
  /** Attempts per write-back target. Default 8. */
  writeBackAttempts: number;
  /** First backoff delay in ms; doubles each attempt, with full jitter. Default 1000. */
  baseDelayMs: number;
  /** Largest backoff delay in ms. Default 5 minutes. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  toolCallAttempts: 5,
  writeBackAttempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
};

/**
 * Exponential backoff with "full jitter" (a random delay up to the exponential cap), which spreads
 * retries of many failed jobs instead of bunching them. `random` is injectable for tests.
 */
export function backoffDelay(attemptsMade: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.max(1, Math.round(cap * random()));
}

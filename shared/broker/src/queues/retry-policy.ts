import { backoffDelay as sharedBackoffDelay } from '@mcp-broker/resilience';

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

/** The policy's delay before retry number `attemptsMade`: the shared formula, full jitter (spreads many failed jobs). */
export function backoffDelay(attemptsMade: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return sharedBackoffDelay(attemptsMade, { baseDelayMs: policy.baseDelayMs, maxDelayMs: policy.maxDelayMs, random });
}

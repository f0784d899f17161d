export { type AbortRaceOptions, raceAbort } from './abort-race.ts';
export { Backoff, type BackoffOptions, backoffDelay } from './backoff.ts';
export { Deadline } from './deadline.ts';
export { isNetworkError, NETWORK_ERROR_CODES, networkErrorCode } from './network-errors.ts';
export { DEFAULT_MAX_RETRY_AFTER_MS, parseRetryAfter, type RetryAfterOptions } from './retry-after.ts';

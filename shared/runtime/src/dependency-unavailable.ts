import { isNetworkError } from '@mcp-broker/resilience';

/** HTTP statuses a store answers when it is overloaded or briefly away (Cosmos DB: 408, 429, 449, 503). */
const RETRYABLE_STATUSES = new Set([408, 429, 449, 503]);

/**
 * Whether an unexpected error is a dependency (the store, Redis) being unreachable or overloaded.
 * Such a request did nothing durable and may be retried as it is, so callers get 503 with
 * Retry-After instead of 500. Walks `cause` chains, where SDKs wrap the socket error.
 */
export function isDependencyUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; headers?: unknown };
  // The socket level: the peer is not there right now, not "this request is wrong".
  if (depth === 0 && isNetworkError(err)) return true;
  // A store's own answer carries response headers; a bare number elsewhere means nothing here.
  if (typeof e.code === 'number' && RETRYABLE_STATUSES.has(e.code) && e.headers !== undefined) return true;
  // ioredis, when Redis stays away past its retries or its offline queue is off.
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.message === 'string' && /^(Connection is closed\.|Stream isn't writeable)/.test(e.message)) return true;
  return isDependencyUnavailable(e.cause, depth + 1);
}

import { DeliveryError } from '@mcp-broker/broker';
import { networkErrorCode } from '@mcp-broker/resilience';

/** A non-2xx answer of a workspace REST API: its status and Databricks' `{ error_code, message }`. */
export class DatabricksApiError extends Error {
  override readonly name = 'DatabricksApiError';
  readonly status: number;
  /** Databricks' `error_code` when it is a string (legacy answers put the status there as a number). */
  readonly errorCode: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, errorCode: string | undefined, message: string, retryAfterMs?: number) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Longest message kept from Databricks (a statement error can echo the statement). */
const MAX_MESSAGE_LENGTH = 1_000;

export const clip = (message: string) =>
  message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;

const isTimeout = (error: unknown) =>
  error instanceof Error && (error.name === 'TimeoutError' || (error as { code?: string }).code === 'ETIMEDOUT');

/**
 * Maps a failed workspace request to a `DeliveryError`, like every upstream: 429 is
 * `DATABRICKS_RATE_LIMITED` with the answer's Retry-After, 5xx and 408 `DATABRICKS_UNAVAILABLE`,
 * network errors `DATABRICKS_UNREACHABLE` and timeouts `DATABRICKS_TIMEOUT`, all transient; 401
 * and 403 (the token was refused, after one refresh) `DATABRICKS_AUTH_FAILED` and any other 4xx
 * `DATABRICKS_REQUEST_REFUSED`, final, with Databricks' `error_code` and message.
 * `what` names the request in the message ("runs/get of run 42").
 */
export function classifyDatabricksError(error: unknown, what: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof DatabricksApiError) {
    const { status } = error;
    const detail = clip(`${what}: HTTP ${status}${error.errorCode ? ` ${error.errorCode}` : ''}: ${error.message}`);
    if (status === 429) return new DeliveryError('transient', 'DATABRICKS_RATE_LIMITED', detail, error.retryAfterMs);
    if (status >= 500 || status === 408) {
      return new DeliveryError('transient', 'DATABRICKS_UNAVAILABLE', detail, error.retryAfterMs);
    }
    if (status === 401 || status === 403) return new DeliveryError('permanent', 'DATABRICKS_AUTH_FAILED', detail);
    return new DeliveryError('permanent', 'DATABRICKS_REQUEST_REFUSED', detail);
  }
  const network = networkErrorCode(error);
  if (network)
    return new DeliveryError(
      'transient',
      'DATABRICKS_UNREACHABLE',
      `${what}: cannot reach the workspace (${network}).`,
    );
  if (isTimeout(error))
    return new DeliveryError('transient', 'DATABRICKS_TIMEOUT', `${what}: the workspace did not answer in time.`);
  const message = error instanceof Error ? error.message : String(error);
  return new DeliveryError('transient', 'DATABRICKS_UNAVAILABLE', clip(`${what}: unexpected failure: ${message}`));
}

import { DeliveryError } from '@mcp-broker/broker';
import type { SalesforcePassThroughCode } from '@mcp-broker/contracts';
import { isTimeoutError, networkErrorCode } from './network-error.ts';
import { SalesforceLoginError } from './salesforce-login-error.ts';

/**
 * Salesforce error codes worth trying again later. Everything else Salesforce names is final:
 * the same request would be refused the same way (`INVALID_FIELD`, `STRING_TOO_LONG`,
 * `FIELD_CUSTOM_VALIDATION_EXCEPTION`, `NOT_FOUND`, `INSUFFICIENT_ACCESS_*`, …).
 */
export const TRANSIENT_SALESFORCE_CODES: ReadonlySet<string> = new Set([
  'REQUEST_LIMIT_EXCEEDED',
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'UNKNOWN_EXCEPTION',
  'PLATFORM_EVENT_PUBLISHING_UNAVAILABLE',
  // Still refused after a fresh login and one retry: the next attempt logs in again.
  'INVALID_SESSION_ID',
]);

/** How long to wait before retrying after the org's API request limit: at least a minute. */
export const REQUEST_LIMIT_RETRY_AFTER_MS = 60_000;

/** Longest message kept from Salesforce (`STRING_TOO_LONG` echoes the whole value). */
const MAX_MESSAGE_LENGTH = 1_000;

/** An HTTP answer from Salesforce, for callers that make their own requests. */
export interface SalesforceHttpResult {
  status: number;
  errorCode?: string;
  message?: string;
}

interface Described {
  /** Salesforce's `errorCode` (REST) or `statusCode` (a SaveResult item). */
  code?: string;
  /** HTTP status, when known. */
  status?: number;
  message: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function describeError(error: unknown): Described | undefined {
  if (Array.isArray(error)) return error.length > 0 ? describeError(error[0]) : undefined;
  if (!isObject(error)) return undefined;
  // A failed SaveResult / UpsertResult: { success: false, errors: [{ statusCode, message, fields }] }.
  if (error.success === false && Array.isArray(error.errors)) {
    const items = error.errors.map(describeError).filter((d): d is Described => d !== undefined);
    return items.find((d) => d.code !== undefined && TRANSIENT_SALESFORCE_CODES.has(d.code)) ?? items[0];
  }
  // jsforce's HttpApiError for several errors in one answer keeps them in `data`.
  if (error.errorCode === 'MULTIPLE_API_ERRORS' && Array.isArray(error.data)) return describeError(error.data);
  const message = typeof error.message === 'string' ? error.message : '';
  const status =
    typeof error.status === 'number'
      ? error.status
      : typeof error.statusCode === 'number'
        ? error.statusCode
        : undefined;
  const rawCode =
    typeof error.errorCode === 'string'
      ? error.errorCode
      : typeof error.statusCode === 'string'
        ? error.statusCode
        : '';
  const http = /^ERROR_HTTP_(\d{3})$/.exec(rawCode);
  if (http) return { status: Number(http[1]), message };
  if (rawCode !== '') return { code: rawCode, status, message };
  return status === undefined ? undefined : { status, message };
}

const clip = (message: string) =>
  message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;

const codeName = (code: string) => code.toUpperCase().replace(/[^A-Z0-9_]/g, '_');

/**
 * Maps what jsforce (or an HTTP answer) reports to a `DeliveryError`:
 *
 * - `transient` (retried with backoff): `REQUEST_LIMIT_EXCEEDED`, `UNABLE_TO_LOCK_ROW`,
 *   `SERVER_UNAVAILABLE`, `UNKNOWN_EXCEPTION` and any HTTP 5xx, 408, 429, network errors and
 *   timeouts, login failures that may pass (5xx, `unknown_error`, unreachable:
 *   `SALESFORCE_LOGIN_UNAVAILABLE`);
 * - `permanent` (final): every other error Salesforce names, and any other 4xx.
 *
 * The code is Salesforce's own prefixed with `SALESFORCE_` (`SALESFORCE_UNABLE_TO_LOCK_ROW`), or
 * `SALESFORCE_HTTP_<status>` when only the status is known; the message is Salesforce's.
 * Collection results name the code `statusCode`, REST errors `errorCode`: both are read.
 */
export function classifySalesforceError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof SalesforceLoginError) {
    // Two codes, one per retry class, so a caller reading the code knows whether to wait or fix.
    return error.transient
      ? new DeliveryError('transient', 'SALESFORCE_LOGIN_UNAVAILABLE', error.message)
      : new DeliveryError('permanent', 'SALESFORCE_LOGIN_FAILED', error.message);
  }
  const network = networkErrorCode(error);
  if (network) return new DeliveryError('transient', 'SALESFORCE_UNREACHABLE', `Cannot reach Salesforce: ${network}.`);
  if (isTimeoutError(error)) {
    return new DeliveryError('transient', 'SALESFORCE_TIMEOUT', 'Salesforce did not answer in time.');
  }
  const described = describeError(error);
  if (!described) {
    const message = error instanceof Error ? error.message : String(error);
    return new DeliveryError('transient', 'SALESFORCE_UNEXPECTED', clip(`Unexpected Salesforce failure: ${message}`));
  }
  const { code, status } = described;
  const message = clip(described.message || (status ? `HTTP ${status}` : 'no message'));
  const deliveryCode: SalesforcePassThroughCode =
    code !== undefined ? `SALESFORCE_${codeName(code)}` : `SALESFORCE_HTTP_${status}`;
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    return new DeliveryError('transient', deliveryCode, message, REQUEST_LIMIT_RETRY_AFTER_MS);
  }
  const transient =
    (code !== undefined && TRANSIENT_SALESFORCE_CODES.has(code)) ||
    (status !== undefined && (status >= 500 || status === 408 || status === 429));
  return new DeliveryError(transient ? 'transient' : 'permanent', deliveryCode, message);
}

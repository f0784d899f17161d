import { type ErrorCode, errorCatalog } from './error-codes.ts';

/** A local error with a stable code, an HTTP status and a message a person can act on. */
export class BrokerError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra, non-secret facts for the response body (field names, limits, missing scopes). */
  readonly details: Record<string, unknown> | undefined;
  /** Headers the HTTP mapping adds (WWW-Authenticate, Retry-After…). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export function isBrokerError(value: unknown): value is BrokerError {
  return value instanceof BrokerError;
}

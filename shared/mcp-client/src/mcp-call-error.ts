import type { CatalogFailureCode, FailureKind } from '@mcp-broker/contracts';

/**
 * How the worker should react to a failed upstream call:
 * - `transient`: retry with backoff (network, 5xx, internal error, timeout, lost session);
 * - `rate_limited`: retry after `retryAfterMs` (HTTP 429, JSON-RPC -32029);
 * - `unauthorized`: the token was refused; `callTool` already refreshed it and retried once, so the
 *   worker only sees this kind from code paths without that retry;
 * - `permanent`: retrying cannot help (invalid arguments, forbidden, unknown tool, bad credentials);
 * - `cancelled`: the caller's signal aborted the call.
 */
export type McpCallErrorKind = FailureKind;

/** Stable local codes, a part of the failure catalog (the JSON-RPC codes that arrive from upstream are kept in `rpcCode`). */
export type McpCallErrorCode = Exclude<
  Extract<CatalogFailureCode, `UPSTREAM_${string}` | `TOOL_${string}` | 'INVALID_ARGUMENTS' | 'CANCELLED'>,
  'TOOL_ERROR'
>;

export interface McpCallErrorOptions {
  /** For `rate_limited`: how long to wait before retrying, from `Retry-After` or the error data. */
  retryAfterMs?: number;
  /** HTTP status of the upstream response, when one was received. */
  httpStatus?: number;
  /** JSON-RPC error code from upstream, when the failure was a JSON-RPC error. */
  rpcCode?: number;
  /** Non-secret facts from upstream `error.data` (stable code, request id, fields, missing permissions). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * A failed upstream call, classified. The message is meant for a person and for the stored record:
 * it never contains a token, a client secret or a subscription key.
 */
export class McpCallError extends Error {
  readonly kind: McpCallErrorKind;
  readonly code: McpCallErrorCode;
  readonly retryAfterMs: number | undefined;
  readonly httpStatus: number | undefined;
  readonly rpcCode: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: McpCallErrorKind, code: McpCallErrorCode, message: string, options: McpCallErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'McpCallError';
    this.kind = kind;
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.httpStatus = options.httpStatus;
    this.rpcCode = options.rpcCode;
    this.details = options.details;
  }

  /** Whether the worker may try again (`transient`, `rate_limited`). */
  get retryable(): boolean {
    return this.kind === 'transient' || this.kind === 'rate_limited';
  }

  /** A plain object for logs and stored records (no cause chain, which may hold request objects). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      code: this.code,
      message: this.message,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.httpStatus === undefined ? {} : { httpStatus: this.httpStatus }),
      ...(this.rpcCode === undefined ? {} : { rpcCode: this.rpcCode }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isMcpCallError(value: unknown): value is McpCallError {
  return value instanceof McpCallError;
}

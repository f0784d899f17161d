/**
 * How the worker should react to a failed upstream call:
 * - `transient`: retry with backoff (network, 5xx, internal error, timeout, lost session);
 * - `rate_limited`: retry after `retryAfterMs` (HTTP 429, JSON-RPC -32029);
 * - `unauthorized`: the token was refused; `callTool` already refreshed it and retried once, so the
 *   worker only sees this kind from code paths without that retry;
 * - `permanent`: retrying cannot help (invalid arguments, forbidden, unknown tool, bad credentials);
 * - `cancelled`: the caller's signal aborted the call.
 */
export type McpCallErrorKind = 'transient' | 'rate_limited' | 'unauthorized' | 'permanent' | 'cancelled';

/** Stable local codes (the JSON-RPC codes that arrive from upstream are kept in `rpcCode`). */
export type McpCallErrorCode =
  /** Network error, connection lost, HTTP 5xx, JSON-RPC -32030, lost SSE session. */
  | 'UPSTREAM_UNAVAILABLE'
  /** JSON-RPC -32603 from the server (its own unexpected failure), or an error this client cannot place. */
  | 'UPSTREAM_ERROR'
  /** HTTP 429 or JSON-RPC -32029. */
  | 'UPSTREAM_RATE_LIMITED'
  /** HTTP 401 or JSON-RPC -32002 (after the one refresh-and-retry). */
  | 'UPSTREAM_UNAUTHORIZED'
  /** HTTP 403 without a tool permission error (e.g. APIM refused the subscription key or the Origin). */
  | 'UPSTREAM_FORBIDDEN'
  /** Any other refusal of the request itself (404 route, 400 malformed, -32601, -32600, unexpected content type). */
  | 'UPSTREAM_REJECTED'
  /** JSON-RPC -32003: the caller's identity lacks a permission the tool requires. */
  | 'TOOL_FORBIDDEN'
  /** JSON-RPC -32602: arguments failed the tool's input schema. */
  | 'INVALID_ARGUMENTS'
  /** JSON-RPC -32602 naming an unknown tool (or one this identity may not see). */
  | 'TOOL_NOT_FOUND'
  /** JSON-RPC -32001: the server's tool timeout or this client's request timeout. */
  | 'TOOL_TIMEOUT'
  /** The token endpoint refused the credential (4xx, e.g. invalid_client), or a secret is missing. */
  | 'UPSTREAM_AUTH_FAILED'
  /** The token endpoint is unreachable or failing (network, 5xx, 429). */
  | 'UPSTREAM_AUTH_UNAVAILABLE'
  /** The caller's signal aborted the call. */
  | 'CANCELLED';

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

import { JsonRpcErrorCode } from '@mcp-broker/contracts';
import { isNetworkError } from '@mcp-broker/resilience';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { McpCallError, type McpCallErrorCode, type McpCallErrorKind } from './mcp-call-error.ts';
import { describeNetworkError, UpstreamHttpError } from './upstream-http.ts';

/** The SDK's own code for a connection closed under a pending request. */
const CONNECTION_CLOSED = -32000;

export interface Classified {
  error: McpCallError;
  /** The client that saw this error should not be reused (transport broken, session lost, token refused). */
  discardClient: boolean;
}

interface Verdict {
  kind: McpCallErrorKind;
  code: McpCallErrorCode;
  discardClient?: boolean;
}

/**
 * Classifies whatever an upstream request threw into an `McpCallError` (see the table in the
 * package README). `what` names the request in messages, e.g. `tool "x" on endpoint "y"`.
 * A cancellation through `signal` wins over everything: the SDK reports it as a -32001 timeout.
 */
export function classifyError(err: unknown, context: { what: string; signal?: AbortSignal | undefined }): Classified {
  if (context.signal?.aborted) {
    return {
      error: new McpCallError('cancelled', 'CANCELLED', `The call of ${context.what} was cancelled.`, { cause: err }),
      // Closing the client ends its HTTP streams: the server sees the call's connection close and
      // aborts it. Over stateless Streamable HTTP that is the only unambiguous cancellation, since
      // JSON-RPC ids repeat across pooled clients of the same identity.
      discardClient: true,
    };
  }
  if (err instanceof McpCallError) return { error: err, discardClient: false };

  if (err instanceof UpstreamHttpError) {
    const verdict =
      (err.rpcError && fromRpcCode(err.rpcError.code, err.rpcError.data, err.rpcError.message)) ??
      fromStatus(err.status);
    return build(verdict, `${context.what}: ${err.message}`, {
      httpStatus: err.status,
      rpcCode: err.rpcError?.code,
      data: err.rpcError?.data,
      retryAfterMs: err.retryAfterMs,
      cause: err,
    });
  }

  if (err instanceof McpError) {
    const message = err.message.replace(/^MCP error -?\d+: /, '');
    const data = isRecord(err.data) ? err.data : undefined;
    const verdict = fromRpcCode(err.code, data, message) ?? { kind: 'permanent', code: 'UPSTREAM_REJECTED' };
    const retryAfterMs = typeof data?.retryAfterSeconds === 'number' ? data.retryAfterSeconds * 1000 : undefined;
    return build(verdict, `${context.what}: ${message} (JSON-RPC ${err.code})`, {
      rpcCode: err.code,
      data,
      retryAfterMs,
      cause: err,
    });
  }

  if (err instanceof SseError && typeof err.code === 'number' && err.code >= 400) {
    return build(fromStatus(err.code), `${context.what}: the SSE stream was refused with HTTP ${err.code}.`, {
      httpStatus: err.code,
      cause: err,
    });
  }

  if (err instanceof StreamableHTTPError && typeof err.code === 'number' && err.code >= 400) {
    return build(fromStatus(err.code), `${context.what}: ${err.message}`, { httpStatus: err.code, cause: err });
  }

  if (err instanceof StreamableHTTPError) {
    // -1: a response that is neither JSON nor an event stream (a proxy's HTML page, a wrong URL).
    return build(
      { kind: 'permanent', code: 'UPSTREAM_REJECTED', discardClient: true },
      `${context.what}: ${err.message}`,
      {
        cause: err,
      },
    );
  }

  if (isNetworkError(err) || err instanceof SseError || isConnectionMessage(err)) {
    return build(
      { kind: 'transient', code: 'UPSTREAM_UNAVAILABLE', discardClient: true },
      `${context.what}: upstream unreachable: ${describeNetworkError(err)}.`,
      { cause: err },
    );
  }

  return build(
    { kind: 'transient', code: 'UPSTREAM_ERROR', discardClient: true },
    `${context.what}: unexpected failure: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

/** JSON-RPC error codes (the governed server's codes are listed in docs/errors.md). */
function fromRpcCode(code: number, data: Record<string, unknown> | undefined, message: string): Verdict | undefined {
  switch (code) {
    case JsonRpcErrorCode.Unauthorized:
      return { kind: 'unauthorized', code: 'UPSTREAM_UNAUTHORIZED', discardClient: true };
    case JsonRpcErrorCode.RateLimited:
      return { kind: 'rate_limited', code: 'UPSTREAM_RATE_LIMITED' };
    case JsonRpcErrorCode.Forbidden:
      return data?.code === 'BROKER_ORIGIN_FORBIDDEN'
        ? { kind: 'permanent', code: 'UPSTREAM_FORBIDDEN' }
        : { kind: 'permanent', code: 'TOOL_FORBIDDEN' };
    case JsonRpcErrorCode.InvalidParams:
      return data?.code === 'BROKER_TOOL_NOT_FOUND' ||
        /\b(unknown|not found)\b.*\btool\b|\btool\b.*\b(unknown|not found)\b/i.test(message)
        ? { kind: 'permanent', code: 'TOOL_NOT_FOUND' }
        : { kind: 'permanent', code: 'INVALID_ARGUMENTS' };
    case JsonRpcErrorCode.Timeout:
      return { kind: 'transient', code: 'TOOL_TIMEOUT' };
    case JsonRpcErrorCode.InternalError:
      return { kind: 'transient', code: 'UPSTREAM_ERROR' };
    case JsonRpcErrorCode.Unavailable:
      return { kind: 'transient', code: 'UPSTREAM_UNAVAILABLE' };
    case JsonRpcErrorCode.SessionNotFound:
    case CONNECTION_CLOSED:
      return { kind: 'transient', code: 'UPSTREAM_UNAVAILABLE', discardClient: true };
    case JsonRpcErrorCode.RequestCancelled:
      // Not cancelled by us (that is checked first): the server gave up on it, e.g. while stopping.
      return { kind: 'transient', code: 'UPSTREAM_UNAVAILABLE' };
    case JsonRpcErrorCode.ParseError:
    case JsonRpcErrorCode.InvalidRequest:
    case JsonRpcErrorCode.MethodNotFound:
      return { kind: 'permanent', code: 'UPSTREAM_REJECTED' };
    default:
      return undefined;
  }
}

/** HTTP statuses without a JSON-RPC error that says more. */
function fromStatus(status: number): Verdict {
  if (status === 401) return { kind: 'unauthorized', code: 'UPSTREAM_UNAUTHORIZED', discardClient: true };
  if (status === 429) return { kind: 'rate_limited', code: 'UPSTREAM_RATE_LIMITED' };
  if (status === 403) return { kind: 'permanent', code: 'UPSTREAM_FORBIDDEN' };
  if (status === 408 || status >= 500) return { kind: 'transient', code: 'UPSTREAM_UNAVAILABLE', discardClient: true };
  return { kind: 'permanent', code: 'UPSTREAM_REJECTED' };
}

function build(
  verdict: Verdict,
  message: string,
  facts: {
    httpStatus?: number | undefined;
    rpcCode?: number | undefined;
    data?: Record<string, unknown> | undefined;
    retryAfterMs?: number | undefined;
    cause: unknown;
  },
): Classified {
  const error = new McpCallError(verdict.kind, verdict.code, message, {
    ...(facts.httpStatus === undefined ? {} : { httpStatus: facts.httpStatus }),
    ...(facts.rpcCode === undefined ? {} : { rpcCode: facts.rpcCode }),
    ...(facts.data === undefined ? {} : { details: facts.data }),
    ...(verdict.kind === 'rate_limited' && facts.retryAfterMs !== undefined
      ? { retryAfterMs: facts.retryAfterMs }
      : {}),
    cause: facts.cause,
  });
  return { error, discardClient: verdict.discardClient ?? false };
}

function isConnectionMessage(err: unknown): boolean {
  return err instanceof Error && (err.message === 'Not connected' || err.message.startsWith('SSE stream disconnected'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

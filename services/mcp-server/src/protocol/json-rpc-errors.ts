import { type BrokerError, type ErrorCode, JsonRpcErrorCode, type JsonRpcErrorResponse } from '@mcp-broker/contracts';

/** The JSON-RPC code each local error travels as on the wire. */
const wireCode: Record<ErrorCode, number> = {
  BROKER_INTERNAL: JsonRpcErrorCode.InternalError,
  BROKER_NOT_FOUND: JsonRpcErrorCode.MethodNotFound,
  BROKER_BODY_TOO_LARGE: JsonRpcErrorCode.InvalidRequest,
  BROKER_UNSUPPORTED_MEDIA_TYPE: JsonRpcErrorCode.InvalidRequest,
  BROKER_ORIGIN_FORBIDDEN: JsonRpcErrorCode.Forbidden,
  BROKER_TOKEN_MISSING: JsonRpcErrorCode.Unauthorized,
  BROKER_TOKEN_INVALID: JsonRpcErrorCode.Unauthorized,
  BROKER_CREDENTIALS_INVALID: JsonRpcErrorCode.Unauthorized,
  BROKER_AUTH_THROTTLED: JsonRpcErrorCode.RateLimited,
  BROKER_URI_TOO_LONG: JsonRpcErrorCode.InvalidRequest,
  BROKER_TOOL_FORBIDDEN: JsonRpcErrorCode.Forbidden,
  BROKER_RATE_LIMITED: JsonRpcErrorCode.RateLimited,
  BROKER_RATE_LIMIT_UNAVAILABLE: JsonRpcErrorCode.Unavailable,
  BROKER_JSONRPC_PARSE_ERROR: JsonRpcErrorCode.ParseError,
  BROKER_JSONRPC_INVALID_REQUEST: JsonRpcErrorCode.InvalidRequest,
  BROKER_JSONRPC_INVALID_PARAMS: JsonRpcErrorCode.InvalidParams,
  BROKER_JSONRPC_METHOD_NOT_FOUND: JsonRpcErrorCode.MethodNotFound,
  BROKER_INVALID_ARGUMENTS: JsonRpcErrorCode.InvalidParams,
  BROKER_TOOL_NOT_FOUND: JsonRpcErrorCode.InvalidParams,
  BROKER_TOOL_TIMEOUT: JsonRpcErrorCode.Timeout,
  BROKER_TOOL_CANCELLED: JsonRpcErrorCode.RequestCancelled,
  BROKER_SESSION_NOT_FOUND: JsonRpcErrorCode.SessionNotFound,
  BROKER_METHOD_NOT_ALLOWED: JsonRpcErrorCode.InvalidRequest,
  BROKER_NOT_ACCEPTABLE: JsonRpcErrorCode.InvalidRequest,
  BROKER_NOT_READY: JsonRpcErrorCode.Unavailable,
  BROKER_DOCUMENT_LINK_INVALID: JsonRpcErrorCode.Forbidden,
  BROKER_MALFORMED_JSON: JsonRpcErrorCode.ParseError,
  BROKER_PAYLOAD_TOO_DEEP: JsonRpcErrorCode.InvalidRequest,
  BROKER_VALIDATION_FAILED: JsonRpcErrorCode.InvalidRequest,
  BROKER_IDEMPOTENCY_KEY_MISSING: JsonRpcErrorCode.InvalidRequest,
  BROKER_IDEMPOTENCY_KEY_REUSED: JsonRpcErrorCode.InvalidRequest,
  BROKER_IDEMPOTENCY_IN_PROGRESS: JsonRpcErrorCode.InvalidRequest,
  BROKER_TOOL_NOT_ALLOWED: JsonRpcErrorCode.Forbidden,
  BROKER_CALLBACK_NOT_ALLOWED: JsonRpcErrorCode.InvalidRequest,
  BROKER_WRITE_BACK_NOT_ALLOWED: JsonRpcErrorCode.InvalidRequest,
  BROKER_CALL_NOT_FOUND: JsonRpcErrorCode.MethodNotFound,
  BROKER_CALL_FINAL: JsonRpcErrorCode.InvalidRequest,
  BROKER_ADMIN_REQUIRED: JsonRpcErrorCode.Forbidden,
  BROKER_WORKER_ABANDONED: JsonRpcErrorCode.InternalError,
  BROKER_UPSTREAM_UNAVAILABLE: JsonRpcErrorCode.InternalError,
  BROKER_SCHEDULE_NOT_FOUND: JsonRpcErrorCode.MethodNotFound,
  BROKER_SCHEDULE_DISABLED: JsonRpcErrorCode.InvalidRequest,
  BROKER_SCHEDULE_BUSY: JsonRpcErrorCode.InvalidRequest,
  BROKER_BATCH_RUN_NOT_FOUND: JsonRpcErrorCode.MethodNotFound,
  BROKER_BATCH_RUN_FINAL: JsonRpcErrorCode.InvalidRequest,
  BROKER_EVENT_GRID_SUBSCRIPTION_UNKNOWN: JsonRpcErrorCode.MethodNotFound,
  BROKER_EVENT_GRID_KEY_INVALID: JsonRpcErrorCode.Unauthorized,
  BROKER_EVENT_GRID_EVENT_INVALID: JsonRpcErrorCode.InvalidRequest,
  BROKER_EVENT_GRID_NO_ROUTE: JsonRpcErrorCode.InvalidRequest,
  BROKER_EVENT_GRID_HANDSHAKE_INVALID: JsonRpcErrorCode.InvalidRequest,
};

export function toJsonRpcCode(code: ErrorCode): number {
  return wireCode[code];
}

/** A JSON-RPC error envelope carrying the stable code and request id in `error.data`. */
export function jsonRpcErrorEnvelope(
  err: BrokerError,
  requestId: string,
  id: string | number | null = null,
): JsonRpcErrorResponse {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: toJsonRpcCode(err.code),
      message: err.message,
      data: { code: err.code, requestId, ...(err.details ?? {}) },
    },
  };
}

/**
 * HTTP status for a JSON-RPC error answered on plain `POST /message`, where Apex and curl callers
 * read the status before the body.
 */
export function httpStatusForJsonRpcError(code: number): number {
  switch (code) {
    case JsonRpcErrorCode.ParseError:
    case JsonRpcErrorCode.InvalidRequest:
    case JsonRpcErrorCode.InvalidParams:
      return 400;
    case JsonRpcErrorCode.MethodNotFound:
    case JsonRpcErrorCode.SessionNotFound:
      return 404;
    case JsonRpcErrorCode.Unauthorized:
      return 401;
    case JsonRpcErrorCode.Forbidden:
      return 403;
    case JsonRpcErrorCode.RateLimited:
      return 429;
    case JsonRpcErrorCode.Timeout:
      return 504;
    case JsonRpcErrorCode.RequestCancelled:
      return 409;
    case JsonRpcErrorCode.Unavailable:
      return 503;
    default:
      return 500;
  }
}

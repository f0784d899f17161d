import { z } from 'zod';

/** JSON-RPC 2.0 error codes used on the wire (kept apart from the local string codes). */
export const JsonRpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Server-defined: the tool ran past its timeout (the MCP SDK's RequestTimeout). */
  Timeout: -32001,
  /** Server-defined: missing or invalid bearer token. */
  Unauthorized: -32002,
  /** Server-defined: the caller lacks a permission the tool requires, or a forbidden Origin. */
  Forbidden: -32003,
  /** Server-defined: unknown or foreign session id. */
  SessionNotFound: -32004,
  /** Server-defined: the request was cancelled by the client. */
  RequestCancelled: -32800,
  /** Server-defined: rate limit exceeded. */
  RateLimited: -32029,
  /** Server-defined: a dependency (rate-limit store) is unavailable. */
  Unavailable: -32030,
} as const;

export const jsonRpcIdSchema = z.union([z.string(), z.number().int()]);

/** One JSON-RPC 2.0 request or notification, as this server accepts it. */
export const jsonRpcMessageSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: jsonRpcIdSchema.optional(),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});
export type JsonRpcMessage = z.infer<typeof jsonRpcMessageSchema>;

export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string; data?: Record<string, unknown> };
}

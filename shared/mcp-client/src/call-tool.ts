import {
  type CallToolResult,
  CallToolResultSchema,
  ErrorCode,
  McpError,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { classifyError } from './classify-error.ts';
import type { McpClientPool, PoolKey } from './client-pool.ts';
import { withForgettableSignal } from './forgettable-signal.ts';
import { McpCallError } from './mcp-call-error.ts';
import { upstreamRequest } from './upstream-request.ts';

export interface CallToolOptions {
  pool: McpClientPool;
  /** Whose identity and which endpoint. */
  key: PoolKey;
  tool: string;
  arguments: Record<string, unknown>;
  /** Progress notifications of this call, in order. Progress resets the timeout either way. */
  onProgress?: (progress: Progress) => void;
  /** Aborting sends `notifications/cancelled` upstream and fails the call as `cancelled`. */
  signal?: AbortSignal;
  /** Budget without progress, in ms. Default the endpoint's `callTimeoutMs`. */
  timeoutMs?: number;
  /** Budget in total, progress or not, in ms. Default none. */
  maxTotalTimeoutMs?: number;
  /** Extra `_meta` for the request (e.g. a `traceparent`); `progressToken` is set by the SDK. */
  meta?: Record<string, unknown>;
}

export interface CallToolOutcome {
  /** The tool's result; `isError: true` is a result (a failure the caller should read), not an exception. */
  result: CallToolResult;
  /** From the start of the call (including waiting for a client and connecting) to its end. */
  durationMs: number;
  /** Requests sent: 2 when a refused token was refreshed and the call retried. */
  attempts: number;
}

/**
 * Calls a tool on the caller's behalf through a pooled client. Throws `McpCallError` (see
 * `classifyError`); retries only once, after a refused token (see `upstreamRequest`). The raw
 * `tools/call` request is used rather than `Client.callTool`, so the result is relayed as the server
 * sent it (the SDK would otherwise validate structured content against a cached output schema).
 */
export async function callTool(options: CallToolOptions): Promise<CallToolOutcome> {
  const { pool, key, tool, signal } = options;
  const started = performance.now();
  const what = `tool "${tool}" on endpoint "${key.endpoint}" for caller "${key.caller}"`;
  if (signal?.aborted) throw new McpCallError('cancelled', 'CANCELLED', `The call of ${what} was cancelled.`);
  const timeout = options.timeoutMs ?? pool.target(key).endpoint.callTimeoutMs;
  const { value, attempts } = await upstreamRequest({ pool, key, what, signal }, (client) =>
    withForgettableSignal(signal, (own) =>
      client.request(
        {
          method: 'tools/call',
          params: { name: tool, arguments: options.arguments, ...(options.meta ? { _meta: options.meta } : {}) },
        },
        CallToolResultSchema,
        {
          timeout,
          resetTimeoutOnProgress: true,
          ...(options.maxTotalTimeoutMs === undefined ? {} : { maxTotalTimeout: options.maxTotalTimeoutMs }),
          // Always asked for: without a progress token the SDK cannot reset the timeout on progress.
          onprogress: options.onProgress ?? (() => {}),
          ...(own ? { signal: own } : {}),
        },
      ),
    ),
  );
  const result = value as CallToolResult;
  // From protocol 2025-11-25 (SEP-1303) the governed server answers arguments its tool refuses as an
  // isError result, for models to read; its `_meta` names the code, so the broker still fails the
  // call permanently as INVALID_ARGUMENTS, exactly as for the -32602 older revisions get.
  const serverError = result.isError ? result._meta?.['mcp-broker/error'] : undefined;
  if (isRecord(serverError) && serverError.code === 'BROKER_INVALID_ARGUMENTS') {
    const text = (result.content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    throw classifyError(new McpError(ErrorCode.InvalidParams, text, serverError), { what, signal }).error;
  }
  return { result, durationMs: performance.now() - started, attempts };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import type { EndpointConfig } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { type BrokerUpstream, callTool } from '@mcp-broker/mcp-client';
import { activeTraceMeta, type BrokerMetrics } from '@mcp-broker/telemetry';
import type { ProgressUpdate, ToolInvoker, ToolResult } from './tool-invoker.ts';

/**
 * Calls tools through pooled MCP clients that carry each caller's own upstream token, so APIM and
 * the MCP server govern and audit the real caller. Errors arrive classified (`McpCallError`).
 */
export class McpToolInvoker implements ToolInvoker {
  readonly #upstream: BrokerUpstream;
  readonly #endpoints: Record<string, EndpointConfig>;
  readonly #metrics: BrokerMetrics | undefined;

  constructor(upstream: BrokerUpstream, endpoints: Record<string, EndpointConfig>, metrics?: BrokerMetrics) {
    this.#upstream = upstream;
    this.#endpoints = endpoints;
    this.#metrics = metrics;
  }

  async invoke(
    record: ToolCallRecord,
    options: { signal: AbortSignal; onProgress: (p: ProgressUpdate) => void },
  ): Promise<ToolResult> {
    const endpoint = this.#endpoints[record.endpoint];
    const { result, attempts } = await callTool({
      pool: this.#upstream.pool,
      key: { caller: record.caller, endpoint: record.endpoint },
      tool: record.tool,
      arguments: record.arguments,
      onProgress: options.onProgress,
      signal: options.signal,
      ...(endpoint ? { timeoutMs: endpoint.callTimeoutMs } : {}),
      // The MCP server records these in its audit record: one id joins the two records of a call.
      meta: {
        'mcp-broker/callId': record.id,
        'mcp-broker/requestId': record.correlation.requestId,
        ...(record.correlation.traceparent ? { traceparent: record.correlation.traceparent } : {}),
        // SEP-414: the trace context of this attempt's span, when telemetry is on (it replaces the
        // caller's, whose trace it continues), so the server's spans join the call's trace.
        ...activeTraceMeta(),
      },
    });
    // Two requests: the endpoint refused the cached token, a new one was fetched and the call sent again.
    if (attempts > 1) this.#metrics?.tokenRefresh(record.caller, record.endpoint);
    return result as ToolResult;
  }
}

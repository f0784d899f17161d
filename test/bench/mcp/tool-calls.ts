import { jsonRpcMessageOf } from './load.ts';

/** Streamable HTTP request headers; the bearer token only for the governed server. */
export function mcpHeaders(token?: string): Record<string, string> {
  return {
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    'mcp-protocol-version': '2025-11-25',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** Customer ids in turn, cus-000001 … cus-<customers>. */
export function customerId(n: number, customers: number): string {
  return `cus-${String((n % customers) + 1).padStart(6, '0')}`;
}

/** The n-th `tools/call` body (JSON-RPC id n), asking for the n-th customer in turn. */
export function toolCallBody(tool: string, customers: number): (n: number) => string {
  return (n) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: n,
      method: 'tools/call',
      params: { name: tool, arguments: { customer_id: customerId(n, customers) } },
    });
}

/** Undefined when the response carries a successful tool result for request n; else what is wrong. */
export function checkToolCall(status: number, contentType: string, text: string, n: number): string | undefined {
  if (status !== 200) return `HTTP ${status}`;
  let message: Record<string, unknown> | undefined;
  try {
    message = jsonRpcMessageOf(contentType, text, n);
  } catch {
    return 'unparseable response';
  }
  if (!message) return `no JSON-RPC response for the request (${contentType || 'no content-type'})`;
  const error = message.error as { code?: number; message?: string } | undefined;
  if (error) return `JSON-RPC error ${error.code}: ${String(error.message).slice(0, 120)}`;
  const result = message.result as { isError?: boolean; structuredContent?: unknown } | undefined;
  if (!result) return 'response has no result';
  if (result.isError) return 'tool returned isError';
  if (result.structuredContent === undefined) return 'result has no structuredContent';
  return undefined;
}

/** One call; throws unless it succeeds; returns the structured result as JSON text. */
export async function probeToolCall(url: string, headers: Record<string, string>, body: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  const problem = checkToolCall(res.status, contentType, text, 0);
  if (problem) throw new Error(`probe call to ${url} failed: ${problem}: ${text.slice(0, 300)}`);
  const message = jsonRpcMessageOf(contentType, text, 0);
  return JSON.stringify((message!.result as { structuredContent: unknown }).structuredContent);
}

/**
 * Benchmark child: the baseline. A bare `@modelcontextprotocol/sdk` server on plain `node:http`,
 * stateless Streamable HTTP the way the SDK's `simpleStatelessStreamableHttp` example does it (a
 * new low-level `Server` and `StreamableHTTPServerTransport` per POST), exposing the same product
 * tool: its CallTool handler validates the arguments with the tool's schema and calls the same
 * `tool.handler` with the same store. No authentication, rate limit, audit or request logging.
 * Env: BENCH_COSMOS_ENDPOINT, BENCH_COSMOS_KEY, BENCH_DATABASE, BENCH_LOG_LEVEL.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Identity } from '@mcp-broker/contracts';
import { createLogger } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { benchTool } from './bench-tool.ts';
import { announceReady, requiredEnv, serveParent } from './ipc.ts';

const tool = benchTool();
const store = await createStore({
  endpoint: requiredEnv('BENCH_COSMOS_ENDPOINT'),
  key: requiredEnv('BENCH_COSMOS_KEY'),
  databaseId: requiredEnv('BENCH_DATABASE'),
});
// Same logger setup as the governed server, so anything the tool itself logs costs the same here.
const logger = createLogger({ name: 'bare-mcp-server', level: process.env.BENCH_LOG_LEVEL ?? 'info' });
// The bare server authenticates nobody; the tool still needs an identity in its context.
const identity: Identity = { subject: 'anonymous', issuer: 'none', tokenKind: 'app', permissions: [] };
const toolDescription = {
  name: tool.name,
  title: tool.title,
  description: tool.description,
  inputSchema: z.toJSONSchema(tool.inputSchema, { io: 'input' }) as { type: 'object' },
};

function getServer(): Server {
  const server = new Server({ name: 'bare-mcp-server', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [toolDescription] }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (request.params.name !== tool.name) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${request.params.name}`);
    }
    const parsed = tool.inputSchema.safeParse(request.params.arguments ?? {});
    if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, parsed.error.message);
    const requestId = randomUUID();
    const result = await tool.handler(parsed.data, {
      identity,
      requestId,
      logger: logger.child({ requestId, tool: tool.name }),
      signal: extra.signal,
      store,
      progress: async () => {},
    });
    const text = tool.renderText ? tool.renderText(result) : JSON.stringify(result, null, 2);
    return { content: [{ type: 'text', text }], structuredContent: result } satisfies CallToolResult;
  });
  return server;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url !== '/mcp') return jsonRpcError(res, 404, -32000, 'Not found.');
  if (req.method !== 'POST') return jsonRpcError(res, 405, -32000, 'Method not allowed.');
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return jsonRpcError(res, 400, ErrorCode.ParseError, 'Parse error');
  }
  const server = getServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  await server.connect(transport);
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await transport.handleRequest(req, res, body);
}

const http = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    logger.error({ err }, 'error handling MCP request');
    if (!res.headersSent) jsonRpcError(res, 500, ErrorCode.InternalError, 'Internal server error');
    else res.end();
  });
});
await new Promise<void>((resolve, reject) => {
  http.once('error', reject);
  http.listen(0, '127.0.0.1', () => resolve());
});

serveParent({}, async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await store.close();
});
announceReady({ url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, pid: process.pid });

import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpSandbox, startHttpSandbox } from '../test-support/http-sandbox.ts';
import { poolFor } from '../test-support/pool-for.ts';
import { scriptedTokenProvider } from '../test-support/scripted-token-provider.ts';
import { callTool } from './call-tool.ts';
import { classifyError } from './classify-error.ts';
import { McpCallError } from './mcp-call-error.ts';
import { UpstreamHttpError } from './upstream-http.ts';

// The SSE error's event is only read for its code, which the constructor takes directly.
const noEvent = undefined as unknown as ConstructorParameters<typeof SseError>[2];
const what = 'tool "t" on endpoint "e" for caller "c"';
const classify = (err: unknown, signal?: AbortSignal) => classifyError(err, { what, signal });

describe('classifyError', () => {
  it.each([
    ['HTTP 401', new UpstreamHttpError(401, 'x'), 'unauthorized', 'UPSTREAM_UNAUTHORIZED', true],
    [
      'HTTP 429',
      new UpstreamHttpError(429, 'x', { retryAfterMs: 3000 }),
      'rate_limited',
      'UPSTREAM_RATE_LIMITED',
      false,
    ],
    ['HTTP 403 without a JSON-RPC error', new UpstreamHttpError(403, 'x'), 'permanent', 'UPSTREAM_FORBIDDEN', false],
    ['HTTP 404 route', new UpstreamHttpError(404, 'x'), 'permanent', 'UPSTREAM_REJECTED', false],
    [
      'HTTP 400 parse error',
      new UpstreamHttpError(400, 'x', { rpcError: { code: -32700, message: 'bad' } }),
      'permanent',
      'UPSTREAM_REJECTED',
      false,
    ],
    ['HTTP 408', new UpstreamHttpError(408, 'x'), 'transient', 'UPSTREAM_UNAVAILABLE', true],
    ['HTTP 500', new UpstreamHttpError(500, 'x'), 'transient', 'UPSTREAM_UNAVAILABLE', true],
    ['HTTP 502', new UpstreamHttpError(502, 'x'), 'transient', 'UPSTREAM_UNAVAILABLE', true],
    [
      'HTTP 503 (-32030)',
      new UpstreamHttpError(503, 'x', { rpcError: { code: -32030, message: 'redis' } }),
      'transient',
      'UPSTREAM_UNAVAILABLE',
      false,
    ],
    [
      'HTTP 504 (-32001)',
      new UpstreamHttpError(504, 'x', { rpcError: { code: -32001, message: 'slow' } }),
      'transient',
      'TOOL_TIMEOUT',
      false,
    ],
    [
      'HTTP 404 session lost (-32004)',
      new UpstreamHttpError(404, 'x', { rpcError: { code: -32004, message: 'gone' } }),
      'transient',
      'UPSTREAM_UNAVAILABLE',
      true,
    ],
    ['-32002', new McpError(-32002, 'token'), 'unauthorized', 'UPSTREAM_UNAUTHORIZED', true],
    [
      '-32029',
      new McpError(-32029, 'slow down', { retryAfterSeconds: 4 }),
      'rate_limited',
      'UPSTREAM_RATE_LIMITED',
      false,
    ],
    ['-32003', new McpError(-32003, 'needs X'), 'permanent', 'TOOL_FORBIDDEN', false],
    [
      '-32003 Origin',
      new McpError(-32003, 'origin', { code: 'BROKER_ORIGIN_FORBIDDEN' }),
      'permanent',
      'UPSTREAM_FORBIDDEN',
      false,
    ],
    ['-32602 arguments', new McpError(-32602, 'message: too short'), 'permanent', 'INVALID_ARGUMENTS', false],
    [
      '-32602 unknown tool (other servers)',
      new McpError(-32602, 'Tool foo not found'),
      'permanent',
      'TOOL_NOT_FOUND',
      false,
    ],
    ['-32601', new McpError(-32601, 'Method not found'), 'permanent', 'UPSTREAM_REJECTED', false],
    ['-32603', new McpError(-32603, 'oops'), 'transient', 'UPSTREAM_ERROR', false],
    ['-32001', new McpError(-32001, 'Request timed out', { timeout: 100 }), 'transient', 'TOOL_TIMEOUT', false],
    ['-32000 connection closed', new McpError(-32000, 'Connection closed'), 'transient', 'UPSTREAM_UNAVAILABLE', true],
    ['-32800 cancelled by the server', new McpError(-32800, 'stopping'), 'transient', 'UPSTREAM_UNAVAILABLE', false],
    ['an unknown JSON-RPC code', new McpError(-31999, 'custom'), 'permanent', 'UPSTREAM_REJECTED', false],
    [
      'fetch failed (ECONNREFUSED)',
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      }),
      'transient',
      'UPSTREAM_UNAVAILABLE',
      true,
    ],
    ['an SSE stream error', new SseError(undefined, 'terminated', noEvent), 'transient', 'UPSTREAM_UNAVAILABLE', true],
    [
      'a refused SSE stream (401)',
      new SseError(401, 'Non-200 status code (401)', noEvent),
      'unauthorized',
      'UPSTREAM_UNAUTHORIZED',
      true,
    ],
    [
      'an unexpected content type',
      new StreamableHTTPError(-1, 'Unexpected content type: text/html'),
      'permanent',
      'UPSTREAM_REJECTED',
      true,
    ],
    ['anything else', new Error('weird'), 'transient', 'UPSTREAM_ERROR', true],
  ] as const)('%s → %s %s', (_name, err, kind, code, discardClient) => {
    const classified = classify(err);
    expect(classified.error).toMatchObject({ kind, code });
    expect(classified.discardClient).toBe(discardClient);
    expect(classified.error.message.startsWith(`${what}: `)).toBe(true);
  });

  it('carries retryAfterMs for rate limits, from Retry-After or the error data', () => {
    expect(classify(new UpstreamHttpError(429, 'x', { retryAfterMs: 3000 })).error.retryAfterMs).toBe(3000);
    expect(classify(new McpError(-32029, 'slow down', { retryAfterSeconds: 4 })).error.retryAfterMs).toBe(4000);
    expect(classify(new UpstreamHttpError(503, 'x', { retryAfterMs: 5000 })).error.retryAfterMs).toBeUndefined();
  });

  it('reports a cancellation through the signal as cancelled, whatever the SDK threw', () => {
    const signal = AbortSignal.abort();
    expect(classify(new McpError(-32001, 'AbortError'), signal).error).toMatchObject({
      kind: 'cancelled',
      code: 'CANCELLED',
    });
  });

  it('passes an McpCallError through unchanged', () => {
    const err = new McpCallError('permanent', 'UPSTREAM_AUTH_FAILED', 'bad secret');
    expect(classify(err).error).toBe(err);
  });
});

describe('callTool against a gateway answering with its own error shapes (APIM-like sandbox)', () => {
  let sandbox: HttpSandbox;
  const key = { caller: 'c', endpoint: 'e' };
  beforeAll(async () => {
    sandbox = await startHttpSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });
  const pool = () =>
    poolFor(
      sandbox.url,
      scriptedTokenProvider(() => 'opaque-token'),
    );

  it('is rate limited with the Retry-After of a gateway 429', async () => {
    sandbox.respond({
      status: 429,
      headers: { 'retry-after': '5' },
      body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 5 seconds.' },
    });
    const p = pool();
    await expect(callTool({ pool: p, key, tool: 't', arguments: {} })).rejects.toMatchObject({
      kind: 'rate_limited',
      code: 'UPSTREAM_RATE_LIMITED',
      httpStatus: 429,
      retryAfterMs: 5000,
      message: expect.stringContaining('Rate limit is exceeded'),
    });
    await p.close();
  });

  it('is transient on a gateway 503 and never puts the token in the message', async () => {
    // A gateway that echoes the request headers it saw (some debug pages do).
    sandbox.respond({ status: 503, body: 'upstream connect error before headers; authorization: Bearer opaque-token' });
    const p = pool();
    const err = (await callTool({ pool: p, key, tool: 't', arguments: {} }).catch((e: unknown) => e)) as McpCallError;
    expect(err).toMatchObject({ kind: 'transient', code: 'UPSTREAM_UNAVAILABLE', httpStatus: 503 });
    expect(err.message).toContain('upstream connect error before headers; authorization: Bearer [redacted]');
    expect(JSON.stringify(err)).not.toContain('opaque-token');
    expect(sandbox.requests.at(-1)?.headers.authorization).toBe('Bearer opaque-token');
    await p.close();
  });

  it('refreshes once on a gateway 401, then fails as permanent UPSTREAM_UNAUTHORIZED with the gateway reason', async () => {
    sandbox.respond({
      status: 401,
      body: { statusCode: 401, message: 'Access denied due to invalid subscription key.' },
    });
    const tokens = scriptedTokenProvider(() => 'opaque-token');
    const p = poolFor(sandbox.url, tokens);
    await expect(callTool({ pool: p, key, tool: 't', arguments: {} })).rejects.toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_UNAUTHORIZED',
      message: expect.stringContaining('invalid subscription key'),
    });
    expect(tokens.calls.filter((c) => c.forceRefresh)).toHaveLength(1);
    await p.close();
  });

  it('is permanent on a 200 answer that is not MCP (an HTML page)', async () => {
    sandbox.respond({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>login</html>' });
    const p = pool();
    await expect(callTool({ pool: p, key, tool: 't', arguments: {} })).rejects.toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_REJECTED',
    });
    await p.close();
  });
});

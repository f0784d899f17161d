import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type Replica, startHarness } from '../../test-support/mcp-test-harness.ts';
import { invocations } from '../../test-support/test-tools.ts';

let h: Harness;
let replica: Replica;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  replica = await h.startReplica();
  token = await h.token(['Test.Echo']);
});
afterAll(async () => {
  await h.close();
});

type Wire = 'json-rpc' | 'streamable-http' | 'sse';

interface Answer {
  status: number;
  /** The JSON-RPC message answered (on SSE: the HTTP body of the POST when it was refused). */
  json: {
    id?: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A tools/call whose arguments carry an extra field nested `depth` levels deep, as raw text. */
const deepCall = (tool: string, depth: number, id = 1) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":{"message":"x","extra":${nested(depth)}}}}`;

/** Opens a legacy SSE stream and returns its message endpoint and a reader of later events. */
async function openSse() {
  const controller = new AbortController();
  const res = await fetch(`${replica.url}/sse`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const nextEvent = async (match: (data: string) => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const block of buffer.split('\n\n')) {
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data && match(data)) {
          buffer = buffer.slice(buffer.indexOf(block) + block.length);
          return data;
        }
      }
      if (Date.now() > deadline) throw new Error('no such SSE event');
      const { value, done } = await reader.read();
      if (done) throw new Error('SSE stream ended');
      buffer += decoder.decode(value);
    }
  };
  const endpoint = await nextEvent((d) => d.startsWith('/message?sessionId='));
  return { endpoint, nextEvent, close: () => controller.abort() };
}

/** Sends one raw JSON-RPC message on the given wire and returns what the caller gets back. */
async function send(
  wire: Wire,
  body: string,
  init: { requestId?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    ...(init.requestId ? { 'x-request-id': init.requestId } : {}),
    ...init.headers,
  };
  // A request that never answers fails the test instead of hanging it.
  const signal = AbortSignal.timeout(8000);
  if (wire === 'json-rpc') {
    const res = await fetch(`${replica.url}/message`, { method: 'POST', headers, body, signal });
    return { status: res.status, json: (await res.json()) as Answer['json'] };
  }
  if (wire === 'streamable-http') {
    const res = await fetch(`${replica.url}/mcp`, {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
      body,
      signal,
    });
    const text = await res.text();
    const data = res.headers.get('content-type')?.includes('text/event-stream')
      ? text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .filter((d) => !d.includes('"notifications/'))
          .at(-1)
      : text;
    return { status: res.status, json: JSON.parse(data ?? '{}') };
  }
  const session = await openSse();
  try {
    const res = await fetch(`${replica.url}${session.endpoint}`, { method: 'POST', headers, body, signal });
    if (res.status !== 202) return { status: res.status, json: (await res.json()) as Answer['json'] };
    const id = (JSON.parse(body) as { id?: unknown }).id;
    const data = await session.nextEvent((d) => {
      const m = JSON.parse(d) as { id?: unknown };
      return m.id === id && !('method' in m);
    });
    return { status: 202, json: JSON.parse(data) };
  } finally {
    session.close();
  }
}

async function auditRecord(requestId: string) {
  await replica.server.audit.flush();
  const { resources } = await h.store
    .container('audit')
    .items.query({
      query: 'SELECT * FROM c WHERE c.requestId = @r',
      parameters: [{ name: '@r', value: requestId }],
    })
    .fetchAll();
  return resources;
}

const wires: Wire[] = ['json-rpc', 'streamable-http', 'sse'];

describe.each(wires)('deeply nested payloads on %s', (wire) => {
  it('refuses a tools/call nested 10,000 levels deep with 400 naming the limit, never runs the tool, and audits the refusal', async () => {
    const before = invocations.echo;
    const requestId = `deep-${randomUUID()}`;
    const answer = await send(wire, deepCall('test_echo', 10_000), { requestId });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({
      code: -32600,
      message: expect.stringContaining('limit of 64 levels'),
      data: { code: 'BROKER_PAYLOAD_TOO_DEEP', limitDepth: 64, requestId },
    });
    expect(answer.json.id).toBe(1);
    expect(invocations.echo).toBe(before);
    expect(await auditRecord(requestId)).toEqual([
      expect.objectContaining({
        tool: 'test_echo',
        subject: 'app-1',
        transport: wire,
        outcome: 'invalid_arguments',
        errorCode: 'BROKER_PAYLOAD_TOO_DEEP',
        argumentsSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
    ]);
  });

  it('refuses a denied call nested as deep with 400 as well (not 500), audited', async () => {
    const before = invocations.admin;
    const requestId = `deep-denied-${randomUUID()}`;
    const answer = await send(wire, deepCall('test_admin', 10_000), { requestId });
    expect(answer.status).toBe(400);
    expect(answer.json.error?.data?.code).toBe('BROKER_PAYLOAD_TOO_DEEP');
    expect(invocations.admin).toBe(before);
    expect(await auditRecord(requestId)).toEqual([
      expect.objectContaining({ tool: 'test_admin', errorCode: 'BROKER_PAYLOAD_TOO_DEEP' }),
    ]);
  });

  it('accepts a call nested exactly to the limit and audits it', async () => {
    const requestId = `at-limit-${randomUUID()}`;
    // Message, params and arguments take three levels; the extra field takes the other 61.
    const answer = await send(wire, deepCall('test_echo', 61), { requestId });
    expect(answer.json.result?.structuredContent).toEqual({ echoed: 'x', subject: 'app-1' });
    expect(await auditRecord(requestId)).toEqual([expect.objectContaining({ outcome: 'success' })]);
    const over = await send(wire, deepCall('test_echo', 62));
    expect(over.status).toBe(400);
  });
});

const badMeta = [
  ['progressToken [1]', { progressToken: [1] }],
  ['progressToken {}', { progressToken: {} }],
  ['progressToken null', { progressToken: null }],
  ['progressToken 1.5', { progressToken: 1.5 }],
  ['_meta "x"', 'x'],
  ['related task without taskId', { 'io.modelcontextprotocol/related-task': {} }],
] as const;

describe.each(wires)('malformed params on %s', (wire) => {
  it.each(badMeta)('answers a ping whose _meta has %s with -32602 naming the field, at once', async (_name, meta) => {
    const started = Date.now();
    const answer = await send(wire, JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'ping', params: { _meta: meta } }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(answer.status).toBe(400);
    expect(answer.json.id).toBe(4);
    expect(answer.json.error).toMatchObject({
      code: -32602,
      message: expect.stringContaining('params._meta'),
      data: { code: 'BROKER_JSONRPC_INVALID_PARAMS' },
    });
  });

  it.each([
    ['a numeric name', { name: 5 }, 'params.name'],
    ['no name', { arguments: {} }, 'params.name'],
    ['arguments that are a string', { name: 'test_echo', arguments: 'x' }, 'params.arguments'],
    ['arguments that are an array', { name: 'test_echo', arguments: [1] }, 'params.arguments'],
  ])('answers tools/call with %s with -32602 naming the field, not 500 with zod issues', async (_n, params, field) => {
    const requestId = `bad-params-${randomUUID()}`;
    const answer = await send(wire, JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params }), {
      requestId,
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: -32602, message: expect.stringContaining(field) });
    expect(answer.json.error?.message).not.toMatch(/^MCP error|"code":|\[\s*\{/);
    expect(answer.json.error?.data).toMatchObject({ code: 'BROKER_JSONRPC_INVALID_PARAMS', requestId });
  });

  it('answers initialize without its required params with -32602, not 500', async () => {
    const answer = await send(wire, JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'initialize', params: {} }));
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: -32602, message: expect.stringContaining('params.') });
  });
});

function streamable(): Transport {
  return new StreamableHTTPClientTransport(new URL(`${replica.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
}
function sse(): Transport {
  const headers = { authorization: `Bearer ${token}` };
  return new SSEClientTransport(new URL(`${replica.url}/sse`), {
    requestInit: { headers },
    eventSourceInit: {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers ?? {}), ...headers } }),
    },
  });
}

describe.each([
  ['streamable HTTP', streamable],
  ['legacy HTTP+SSE', sse],
])('SDK client on %s (protocol 2025-11-25)', (_name, make) => {
  it('gets invalid arguments as an isError tool result naming each field (SEP-1303), and the call is audited as invalid', async () => {
    const client = new Client({ name: 'hostile', version: '1' });
    await client.connect(make());
    const before = invocations.echo;
    const result = await client.callTool({ name: 'test_echo', arguments: { message: '', times: 9 } });
    expect(result.isError).toBe(true);
    const text = (result.content as Array<{ text: string }>)[0]!.text;
    expect(text).toMatch(/Invalid arguments for tool "test_echo": message: .*times: /);
    expect(result._meta?.['mcp-broker/error']).toMatchObject({ code: 'BROKER_INVALID_ARGUMENTS', tool: 'test_echo' });
    expect(invocations.echo).toBe(before);
    await client.close();
  });

  it('reads each error message with one "MCP error" prefix, the one the SDK client adds', async () => {
    const client = new Client({ name: 'hostile', version: '1' });
    await client.connect(make());
    const err = (await client.callTool({ name: 'test_admin', arguments: {} }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^MCP error -32003: Caller "app-1" lacks/);
    expect(err.message.match(/MCP error/g)).toHaveLength(1);
    const unknown = (await client.callTool({ name: 'no_such_tool', arguments: {} }).catch((e: unknown) => e)) as Error;
    expect(unknown.message).toMatch(/^MCP error -32602: Unknown tool "no_such_tool"/);
    await client.close();
  });
});

describe('invalid tool arguments by negotiated protocol version', () => {
  const invalid = JSON.stringify({
    jsonrpc: '2.0',
    id: 9,
    method: 'tools/call',
    params: { name: 'test_echo', arguments: { message: '' } },
  });

  it('plain /message without MCP-Protocol-Version (2025-03-26 assumed) keeps -32602 with HTTP 400', async () => {
    const answer = await send('json-rpc', invalid);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: -32602, data: { code: 'BROKER_INVALID_ARGUMENTS' } });
  });

  it('plain /message with MCP-Protocol-Version 2025-11-25 answers 200 with an isError result, audited as invalid', async () => {
    const requestId = `sep1303-${randomUUID()}`;
    const answer = await send('json-rpc', invalid, { requestId, headers: { 'mcp-protocol-version': '2025-11-25' } });
    expect(answer.status).toBe(200);
    expect(answer.json.result).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: expect.stringContaining('message: ') }],
    });
    expect(await auditRecord(requestId)).toEqual([
      expect.objectContaining({ outcome: 'invalid_arguments', errorCode: 'BROKER_INVALID_ARGUMENTS' }),
    ]);
  });

  it('/mcp with MCP-Protocol-Version 2025-06-18 keeps -32602', async () => {
    const answer = await send('streamable-http', invalid, { headers: { 'mcp-protocol-version': '2025-06-18' } });
    expect(answer.json.error).toMatchObject({ code: -32602, data: { code: 'BROKER_INVALID_ARGUMENTS' } });
  });
});

describe('audit of calls refused before the protocol server', () => {
  it('audits a tools/call refused by its per-tool rate limit', async () => {
    const limited = await h.startReplica({
      rateLimit: {
        perIdentity: { points: 1000, windowSeconds: 60 },
        perTool: { test_echo: { points: 1, windowSeconds: 60 } },
      },
    });
    const caller = await h.token(['Test.Echo'], { sub: `limited-${randomUUID()}` });
    const post = (requestId: string) =>
      fetch(`${limited.url}/message`, {
        method: 'POST',
        headers: { authorization: `Bearer ${caller}`, 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'test_echo', arguments: { message: 'a' } },
        }),
      });
    expect((await post(`rl-ok-${randomUUID()}`)).status).toBe(200);
    const requestId = `rl-refused-${randomUUID()}`;
    expect((await post(requestId)).status).toBe(429);
    await limited.server.audit.flush();
    const { resources } = await h.store
      .container('audit')
      .items.query({ query: 'SELECT * FROM c WHERE c.requestId = @r', parameters: [{ name: '@r', value: requestId }] })
      .fetchAll();
    expect(resources).toEqual([
      expect.objectContaining({ tool: 'test_echo', outcome: 'error', errorCode: 'BROKER_RATE_LIMITED' }),
    ]);
  });
});

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, RESOURCE, type Replica, startHarness } from '../../test-support/mcp-test-harness.ts';
import { waits } from '../../test-support/test-tools.ts';

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

const headers = () => ({ Authorization: `Bearer ${token}` });

function streamable(url: string): Transport {
  return new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: headers() } });
}
function sse(url: string): Transport {
  return new SSEClientTransport(new URL(`${url}/sse`), {
    requestInit: { headers: headers() },
    eventSourceInit: {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers ?? {}), ...headers() } }),
    },
  });
}

async function connect(make: (url: string) => Transport, url = replica.url) {
  const client = new Client({ name: 'transport-test', version: '1.0.0' });
  await client.connect(make(url));
  return client;
}

describe.each([
  ['streamable HTTP', streamable],
  ['legacy HTTP+SSE', sse],
])('%s transport with the SDK client', (_name, make) => {
  it('negotiates the latest protocol version and lists only permitted tools', async () => {
    const client = await connect(make);
    expect(client.getServerVersion()?.name).toBe('mcp-broker');
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toContain('test_echo');
    expect(names).not.toContain('test_admin');
    const echo = tools.find((t) => t.name === 'test_echo');
    expect(echo?.inputSchema.required).toEqual(['message']);
    expect(echo?.outputSchema?.properties).toHaveProperty('echoed');
    await client.close();
  });

  it('calls a tool and returns structured content with a text rendering', async () => {
    const client = await connect(make);
    const result = await client.callTool({ name: 'test_echo', arguments: { message: 'hi', times: 2 } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ echoed: 'hihi', subject: 'app-1' });
    expect(JSON.parse((result.content as Array<{ text: string }>)[0]!.text)).toEqual({
      echoed: 'hihi',
      subject: 'app-1',
    });
    await client.close();
  });

  it('streams progress notifications when the client sends a progress token', async () => {
    const transport = make(replica.url);
    const client = new Client({ name: 'transport-test', version: '1.0.0' });
    await client.connect(transport);
    // Observe the wire: the SDK client handles notifications a microtask late, so progress that
    // arrives in the same chunk as the response can miss its onprogress callback.
    const seen: unknown[] = [];
    const deliver = transport.onmessage!;
    transport.onmessage = (message, extra) => {
      if ('method' in message && message.method === 'notifications/progress') seen.push(message.params);
      deliver(message, extra);
    };
    client.onerror = () => {};
    const result = await client.callTool({
      name: 'test_progress',
      arguments: { steps: 3 },
      _meta: { progressToken: 'p-1' },
    });
    expect(result.structuredContent).toEqual({ steps: 3 });
    expect(seen).toEqual([1, 2, 3].map((i) => ({ progressToken: 'p-1', progress: i, total: 3, message: `step ${i}` })));
    await client.close();
  });

  it('returns tool failures and (at 2025-11-25, SEP-1303) invalid arguments as isError results naming each field', async () => {
    const client = await connect(make);
    const failed = await client.callTool({ name: 'test_fail', arguments: {} });
    expect(failed.isError).toBe(true);
    expect((failed.content as Array<{ text: string }>)[0]!.text).toBe('The test tool failed on purpose.');
    const invalid = await client.callTool({ name: 'test_echo', arguments: { message: '', times: 9 } });
    expect(invalid.isError).toBe(true);
    expect((invalid.content as Array<{ text: string }>)[0]!.text).toMatch(/message: .*times: /);
    await client.close();
  });

  it('refuses a tool the caller lacks permission for, naming the permission', async () => {
    const client = await connect(make);
    await expect(client.callTool({ name: 'test_admin', arguments: {} })).rejects.toMatchObject({
      code: -32003,
      message: expect.stringContaining('"Test.Admin"'),
      data: expect.objectContaining({ code: 'BROKER_TOOL_FORBIDDEN', missingPermissions: ['Test.Admin'] }),
    });
    await client.close();
  });

  it('aborts a tool at its timeout with a timeout error', async () => {
    const client = await connect(make);
    await expect(client.callTool({ name: 'test_hang', arguments: {} })).rejects.toMatchObject({
      code: -32001,
      data: expect.objectContaining({ code: 'BROKER_TOOL_TIMEOUT', timeoutMs: 300 }),
    });
    await client.close();
  });

  it('cancellation from the client aborts the running handler', async () => {
    const client = await connect(make);
    const started = waits.started;
    const aborted = waits.aborted;
    const controller = new AbortController();
    const call = client.callTool({ name: 'test_wait', arguments: {} }, undefined, { signal: controller.signal });
    await expect.poll(() => waits.started, { timeout: 5000 }).toBe(started + 1);
    controller.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    // The handler's signal aborts (the test_wait timeout is 60 s, so only cancellation can do it).
    await expect.poll(() => waits.aborted, { timeout: 5000 }).toBe(aborted + 1);
    await client.close();
  });
});

describe('streamable HTTP specifics', () => {
  it('answers GET and DELETE on /mcp with 405 and an Allow header (stateless server)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${replica.url}/mcp`, { method, headers: { ...headers(), accept: 'text/event-stream' } });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
  });

  it('works across two replicas with no sticky sessions', async () => {
    const other = await h.startReplica();
    const client = new Client({ name: 'lb', version: '1' });
    let n = 0;
    // A round-robin "load balancer": each HTTP request goes to the next replica.
    const transport = new StreamableHTTPClientTransport(new URL(`${replica.url}/mcp`), {
      requestInit: { headers: headers() },
      fetch: (input, init) => {
        const target = n++ % 2 === 0 ? replica.url : other.url;
        return fetch(String(input).replace(replica.url, target), init);
      },
    });
    await client.connect(transport);
    for (let i = 0; i < 4; i++) {
      const r = await client.callTool({ name: 'test_echo', arguments: { message: `m${i}` } });
      expect(r.structuredContent).toMatchObject({ echoed: `m${i}` });
    }
    expect(n).toBeGreaterThanOrEqual(6);
    await client.close();
  });
});

describe('legacy SSE behind a load balancer', () => {
  it('a session whose POSTs land on the other replica still works (Redis relay)', async () => {
    const other = await h.startReplica();
    const client = new Client({ name: 'lb-sse', version: '1' });
    // The stream is opened on `replica`; every POST is sent to `other`.
    const transport = new SSEClientTransport(new URL(`${replica.url}/sse`), {
      requestInit: { headers: headers() },
      eventSourceInit: {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers ?? {}), ...headers() } }),
      },
      fetch: (input, init) => fetch(String(input).replace(replica.url, other.url), init),
    });
    await client.connect(transport);
    expect(replica.server.relay.localSessionCount).toBeGreaterThan(0);
    expect(other.server.relay.localSessionCount).toBe(0);
    const r = await client.callTool({ name: 'test_echo', arguments: { message: 'via-other' } });
    expect(r.structuredContent).toMatchObject({ echoed: 'via-other' });
    await client.close();
  });

  it('another identity cannot post into a session: 404, as for a missing one', async () => {
    const client = new Client({ name: 'owner', version: '1' });
    const transport = sse(replica.url) as SSEClientTransport;
    await client.connect(transport);
    const sessionId = (transport as unknown as { _endpoint: URL })._endpoint.searchParams.get('sessionId');
    expect(sessionId).toBeTruthy();
    const intruder = await h.issuer.sign({ sub: 'intruder', aud: RESOURCE, roles: ['Test.Echo'] });
    const res = await fetch(`${replica.url}/message?sessionId=${sessionId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${intruder}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
      'BROKER_SESSION_NOT_FOUND',
    );
    const missing = await fetch(`${replica.url}/message?sessionId=00000000-0000-0000-0000-000000000000`, {
      method: 'POST',
      headers: { ...headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
    });
    expect(missing.status).toBe(404);
    await client.close();
  });

  it('sends keep-alive comments on an idle stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${replica.url}/sse`, { headers: headers(), signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(': keep-alive')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toMatch(/^event: endpoint\ndata: \/message\?sessionId=[0-9a-f-]{36}/);
    expect(text).toContain(': keep-alive');
    controller.abort();
  });
});

import { createHmac } from 'node:crypto';
import { createLogger } from '@mcp-broker/runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, RESOURCE, type Replica, startHarness } from '../../test-support/mcp-test-harness.ts';
import { waits } from '../../test-support/test-tools.ts';

let h: Harness;
let replica: Replica;

beforeAll(async () => {
  h = await startHarness();
  replica = await h.startReplica({ allowedOrigins: ['https://portal.example.test'], bodyLimit: 4096 });
});
afterAll(async () => {
  await h.close();
});

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

async function rpc(
  body: unknown,
  init: { token?: string | null; headers?: Record<string, string>; url?: string; raw?: string } = {},
) {
  const token = init.token === undefined ? await h.token(['Test.Echo']) : init.token;
  const res = await fetch(`${init.url ?? replica.url}/message`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...init.headers,
    },
    body: init.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

const call = (name: string, args: unknown = {}, id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

describe('plain JSON-RPC at POST /message', () => {
  it('answers initialize, ping, tools/list and tools/call in the HTTP body', async () => {
    const init = await rpc({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'apex', version: '1' } },
    });
    expect(init.status).toBe(200);
    expect(init.json.result.protocolVersion).toBe('2025-11-25');
    expect((await rpc({ jsonrpc: '2.0', id: 2, method: 'ping' })).json).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    const list = await rpc({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    expect(list.json.result.tools.map((t: { name: string }) => t.name)).toContain('test_echo');
    const res = await rpc(call('test_echo', { message: 'hello' }, 'abc'));
    expect(res.status).toBe(200);
    expect(res.json.id).toBe('abc');
    expect(res.json.result.structuredContent).toEqual({ echoed: 'hello', subject: 'app-1' });
  });

  it('answers a notification with 202 and no body', async () => {
    const res = await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(res.status).toBe(202);
    expect(res.text).toBe('');
  });

  it('echoes a well-formed X-Request-ID on success and on every rejection', async () => {
    const ok = await rpc({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { 'x-request-id': 'sf-req-0001' } });
    expect(ok.headers.get('x-request-id')).toBe('sf-req-0001');
    const denied = await rpc(
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { token: null, headers: { 'x-request-id': 'sf-req-0002' } },
    );
    expect(denied.headers.get('x-request-id')).toBe('sf-req-0002');
    expect(denied.json.error.data.requestId).toBe('sf-req-0002');
  });
});

describe('JSON-RPC validation', () => {
  it('parse error -32700 with HTTP 400', async () => {
    const res = await rpc(undefined, { raw: '{"jsonrpc": "2.0", "id": 1, "method": ' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(-32700);
    expect(res.json.error.data.code).toBe('BROKER_JSONRPC_PARSE_ERROR');
  });

  it('invalid request -32600 with HTTP 400 naming the field', async () => {
    const res = await rpc({ jsonrpc: '1.0', id: 1, method: 'ping' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(-32600);
    expect(res.json.error.message).toContain('jsonrpc');
  });

  it('rejects batches with a clear error', async () => {
    const res = await rpc([{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(-32600);
    expect(res.json.error.message).toMatch(/batches are not supported/);
  });

  it('unknown method -32601', async () => {
    const res = await rpc({ jsonrpc: '2.0', id: 9, method: 'resources/list' });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ id: 9, error: { code: -32601 } });
  });

  it('invalid tool arguments -32602 naming each failing field', async () => {
    const res = await rpc(call('test_echo', { message: 42, times: 10, extra: true }));
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(-32602);
    const fields = res.json.error.data.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['message', 'times']));
    expect(res.json.error.message).toMatch(/message: .*times: /);
  });

  it('unknown tool is an invalid-params error naming the tool', async () => {
    const res = await rpc(call('no_such_tool'));
    expect(res.json.error).toMatchObject({
      code: -32602,
      data: { code: 'BROKER_TOOL_NOT_FOUND', tool: 'no_such_tool' },
    });
  });
});

describe('body size limit', () => {
  it('413 with a JSON body naming the limit and the request id', async () => {
    const res = await rpc(call('test_echo', { message: 'x'.repeat(5000) }), {
      headers: { 'x-request-id': 'too-big-1' },
    });
    expect(res.status).toBe(413);
    expect(res.json.error.data).toMatchObject({
      code: 'BROKER_BODY_TOO_LARGE',
      limitBytes: 4096,
      requestId: 'too-big-1',
    });
    expect(res.json.error.message).toContain('4096 bytes');
  });
});

describe('Origin validation', () => {
  it('refuses a browser Origin that is not allowed with 403', async () => {
    const res = await rpc({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.json.error.data.code).toBe('BROKER_ORIGIN_FORBIDDEN');
    expect(res.json.error.message).toContain('https://evil.example');
  });
  it('accepts an allowed Origin and requests without Origin', async () => {
    expect(
      (await rpc({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { origin: 'https://portal.example.test' } }))
        .status,
    ).toBe(200);
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(200);
  });
});

describe('bearer token battery', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string | null>, RegExp, string?]> = [
    ['missing', async () => null, /Authorization/i],
    ['malformed', async () => 'not-a-jwt', /malformed|JWT/i, 'malformed'],
    [
      'expired',
      () => h.issuer.sign({ sub: 'a', aud: RESOURCE, roles: ['Test.Echo'], exp: now() - 3600 }),
      /expired/i,
      'expired',
    ],
    [
      'not yet valid (beyond 60 s skew)',
      () => h.issuer.sign({ sub: 'a', aud: RESOURCE, roles: ['Test.Echo'], nbf: now() + 600 }),
      /not (yet )?valid/i,
      'not_yet_valid',
    ],
    [
      'wrong audience',
      () => h.issuer.sign({ sub: 'a', aud: 'api://someone-else', roles: [] }),
      /audience/i,
      'wrong_audience',
    ],
    [
      'wrong issuer',
      () => h.issuer.sign({ sub: 'a', aud: RESOURCE, iss: 'https://login.example.com/evil' }),
      /issuer/i,
      'unknown_issuer',
    ],
    [
      'alg none',
      async () =>
        `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: h.issuer.issuer, sub: 'a', aud: RESOURCE, exp: now() + 60 })}.`,
      /algorithm|alg/i,
      'alg_not_allowed',
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const header = b64url({ alg: 'HS256', typ: 'JWT', kid: h.issuer.defaultKid });
        const payload = b64url({
          iss: h.issuer.issuer,
          sub: 'a',
          aud: RESOURCE,
          exp: now() + 60,
          roles: ['Test.Echo'],
        });
        const sig = createHmac('sha256', await h.issuer.publicKeyPem())
          .update(`${header}.${payload}`)
          .digest('base64url');
        return `${header}.${payload}.${sig}`;
      },
      /algorithm|alg/i,
      'alg_not_allowed',
    ],
    [
      'unknown kid',
      () => h.issuer.sign({ sub: 'a', aud: RESOURCE }, { kid: 'never-published' }),
      /kid|key/i,
      'unknown_kid',
    ],
    [
      'tampered signature',
      async () => {
        const t = await h.token(['Test.Echo']);
        const [a, b] = t.split('.');
        return `${a}.${b}.${b64url('x'.repeat(256))}`;
      },
      /signature/i,
      'bad_signature',
    ],
  ];

  it.each(cases)(
    '%s → 401 with WWW-Authenticate and a JSON body saying why',
    async (_name, makeToken, message, reason) => {
      const token = await makeToken();
      const res = await rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token });
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      expect(challenge).toContain('resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource"');
      if (token) expect(challenge).toContain('error="invalid_token"');
      expect(res.json.error.message).toMatch(message);
      expect(res.json.error.data.requestId).toBe(res.headers.get('x-request-id'));
      if (reason) expect(res.json.error.data.reason).toBe(reason);
      if (token) expect(res.text).not.toContain(token);
    },
  );

  it('a roles (app-only) token and an scp (delegated) token both carry permissions', async () => {
    const app = await h.issuer.sign({ sub: 'app-2', azp: 'c2', aud: RESOURCE, roles: ['Test.Echo'] });
    const user = await h.issuer.sign({
      sub: 'user-1',
      oid: 'oid-user-1',
      azp: 'c3',
      aud: RESOURCE,
      scp: 'Test.Echo Other.Read',
    });
    const a = await rpc(call('test_echo', { message: 'x' }), { token: app });
    const u = await rpc(call('test_echo', { message: 'x' }), { token: user });
    expect(a.json.result.structuredContent.subject).toBe('app-2');
    expect(u.json.result.structuredContent.subject).toBe('oid-user-1');
  });

  it('missing permission → 403 with insufficient_scope naming the scope', async () => {
    const res = await rpc(call('test_admin'));
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="Test\.Admin"/);
    expect(res.json.error).toMatchObject({
      code: -32003,
      data: { code: 'BROKER_TOOL_FORBIDDEN', missingPermissions: ['Test.Admin'] },
    });
  });
});

describe('execution', () => {
  it('a tool past its timeout → 504 naming the timeout', async () => {
    const res = await rpc(call('test_hang'));
    expect(res.status).toBe(504);
    expect(res.json.error.data).toMatchObject({ code: 'BROKER_TOOL_TIMEOUT', timeoutMs: 300 });
  });

  it('an unexpected tool failure → 500 -32603 without internal details', async () => {
    const res = await rpc(call('test_crash'));
    expect(res.status).toBe(500);
    expect(res.json.error.code).toBe(-32603);
    expect(res.text).not.toContain('AccountKey');
  });

  it('a tool error is a 200 result with isError', async () => {
    const res = await rpc(call('test_fail'));
    expect(res.status).toBe(200);
    expect(res.json.result).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'The test tool failed on purpose.' }],
    });
  });

  it('a client that disconnects cancels the running tool', async () => {
    const started = waits.started;
    const aborted = waits.aborted;
    const controller = new AbortController();
    const pending = fetch(`${replica.url}/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await h.token(['Test.Echo'])}` },
      body: JSON.stringify(call('test_wait')),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await expect.poll(() => waits.started, { timeout: 5000 }).toBe(started + 1);
    controller.abort();
    await pending;
    await expect.poll(() => waits.aborted, { timeout: 5000 }).toBe(aborted + 1);
  });

  it('notifications/cancelled on another request (and replica) aborts the call', async () => {
    const other = await h.startReplica();
    const token = await h.token(['Test.Echo']);
    const started = waits.started;
    const aborted = waits.aborted;
    const pending = rpc(call('test_wait', {}, 'w-1'), { token });
    await expect.poll(() => waits.started, { timeout: 5000 }).toBe(started + 1);
    const cancel = await rpc(
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'w-1', reason: 'stop' } },
      { token, url: other.url },
    );
    expect(cancel.status).toBe(202);
    await expect.poll(() => waits.aborted, { timeout: 5000 }).toBe(aborted + 1);
    // The waiting caller is answered, not left hanging.
    const answered = await pending;
    expect(answered.status).toBe(409);
    expect(answered.json.error).toMatchObject({ code: -32800, data: { code: 'BROKER_TOOL_CANCELLED' } });
  });
});

describe('audit', () => {
  it('writes one record per tools/call with a hash of the arguments, never the arguments or the token', async () => {
    const token = await h.issuer.sign({ sub: 'auditor-app', azp: 'audit-client', aud: RESOURCE, roles: ['Test.Echo'] });
    await rpc(call('test_echo', { message: 'secret-customer-name' }), {
      token,
      headers: { 'x-request-id': 'audit-1' },
    });
    await rpc(call('test_admin'), { token, headers: { 'x-request-id': 'audit-2' } });
    await rpc(call('test_fail'), { token, headers: { 'x-request-id': 'audit-3' } });
    await replica.server.audit.flush();
    const { resources } = await h.store
      .container('audit')
      .items.query({
        query: 'SELECT * FROM c WHERE c.subject = @s',
        parameters: [{ name: '@s', value: 'auditor-app' }],
      })
      .fetchAll();
    const byRequest = Object.fromEntries(resources.map((r) => [r.requestId, r]));
    expect(byRequest['audit-1']).toMatchObject({
      tool: 'test_echo',
      outcome: 'success',
      clientAppId: 'audit-client',
      transport: 'json-rpc',
      argumentsSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      ttl: 90 * 86400,
    });
    expect(byRequest['audit-2']).toMatchObject({ outcome: 'forbidden', errorCode: 'BROKER_TOOL_FORBIDDEN' });
    expect(byRequest['audit-3']).toMatchObject({ outcome: 'tool_error' });
    const stored = JSON.stringify(resources);
    expect(stored).not.toContain('secret-customer-name');
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.split('.')[2]);
  });
});

describe('audit of calls made through the broker', () => {
  it('records the broker’s call id and the trace from _meta when no traceparent header is sent', async () => {
    const token = await h.issuer.sign({ sub: 'broker-app', aud: RESOURCE, roles: ['Test.Echo'] });
    const callId = `tc_${'a1'.repeat(20)}`;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const withMeta = (meta: Record<string, unknown>, id: number) => {
      const body = call('test_echo', { message: 'via broker' }, id);
      return { ...body, params: { ...body.params, _meta: meta } };
    };
    await rpc(withMeta({ 'mcp-broker/callId': callId, traceparent: `00-${traceId}-00f067aa0ba902b7-01` }, 1), {
      token,
      headers: { 'x-request-id': 'via-broker-1' },
    });
    // Malformed values are not recorded.
    await rpc(withMeta({ 'mcp-broker/callId': 'tc_not-an-id', traceparent: 'garbage' }, 2), {
      token,
      headers: { 'x-request-id': 'via-broker-2' },
    });
    await replica.server.audit.flush();
    const { resources } = await h.store
      .container('audit')
      .items.query({ query: 'SELECT * FROM c WHERE c.subject = @s', parameters: [{ name: '@s', value: 'broker-app' }] })
      .fetchAll();
    const byRequest = Object.fromEntries(resources.map((r) => [r.requestId, r]));
    expect(byRequest['via-broker-1']).toMatchObject({ brokerCallId: callId, traceId, outcome: 'success' });
    expect(byRequest['via-broker-2']).not.toHaveProperty('brokerCallId');
    expect(byRequest['via-broker-2']).not.toHaveProperty('traceId');
  });
});

describe('RFC 9728 metadata', () => {
  it('is built from the configured public URL, never from the Host header', async () => {
    const res = await fetch(`${replica.url}/.well-known/oauth-protected-resource`, {
      headers: { host: 'attacker.example' },
    });
    const body = (await res.json()) as { scopes_supported: string[] };
    expect(body).toMatchObject({
      resource: 'https://mcp.example.test',
      authorization_servers: [h.issuer.issuer],
      bearer_methods_supported: ['header'],
    });
    expect(body.scopes_supported).toEqual(expect.arrayContaining(['Test.Echo', 'Test.Admin']));
    const mcp = (await (await fetch(`${replica.url}/.well-known/oauth-protected-resource/mcp`)).json()) as {
      resource: string;
    };
    expect(mcp.resource).toBe('https://mcp.example.test/mcp');
  });
});

describe('rate limits', () => {
  it('holds per identity across two replicas sharing Redis: 429 with Retry-After and RateLimit headers', async () => {
    const a = await h.startReplica({ rateLimit: { perIdentity: { points: 3, windowSeconds: 60 } } });
    const b = await h.startReplica({ rateLimit: { perIdentity: { points: 3, windowSeconds: 60 } } });
    const token = await h.issuer.sign({ sub: 'limited-app', aud: RESOURCE, roles: ['Test.Echo'] });
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const statuses = [];
    for (const url of [a.url, b.url, a.url]) statuses.push((await rpc(ping, { token, url })).status);
    expect(statuses).toEqual([200, 200, 200]);
    const first = await rpc(ping, { token, url: a.url });
    expect(first.headers.get('ratelimit-policy')).toBe('"identity";q=3;w=60');
    const limited = await rpc(ping, { token, url: b.url });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/^"identity";r=0;t=\d+$/);
    expect(limited.json.error.data).toMatchObject({ code: 'BROKER_RATE_LIMITED', limit: 3, windowSeconds: 60 });
    // Another identity is unaffected.
    const other = await h.issuer.sign({ sub: 'unrelated-app', aud: RESOURCE, roles: [] });
    expect((await rpc(ping, { token: other, url: b.url })).status).toBe(200);
  });

  it('applies an optional per-tool limit', async () => {
    const r = await h.startReplica({
      rateLimit: {
        perIdentity: { points: 100, windowSeconds: 60 },
        perTool: { test_echo: { points: 1, windowSeconds: 60 } },
      },
    });
    const token = await h.issuer.sign({ sub: 'tool-limited', aud: RESOURCE, roles: ['Test.Echo'] });
    expect((await rpc(call('test_echo', { message: 'a' }), { token, url: r.url })).status).toBe(200);
    const second = await rpc(call('test_echo', { message: 'b' }), { token, url: r.url });
    expect(second.status).toBe(429);
    expect(second.json.error.message).toContain('tool:test_echo');
    expect((await rpc(call('test_fail'), { token, url: r.url })).status).toBe(200);
  });

  it('fails closed (503) when Redis is unreachable, or open when configured', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    dead.on('error', () => {});
    const { buildMcpServer } = await import('../server.ts');
    const { createTokenVerifier } = await import('@mcp-broker/auth');
    const make = (failMode: 'closed' | 'open') =>
      buildMcpServer({
        logger: createLogger({ name: 't', level: 'silent' }),
        store: h.store,
        redis: dead,
        verifier: createTokenVerifier({ issuers: [{ issuer: h.issuer.issuer }], audience: RESOURCE }),
        tools: [],
        publicUrl: 'https://mcp.example.test',
        resource: RESOURCE,
        authorizationServers: [h.issuer.issuer],
        redisKeyPrefix: h.prefix,
        rateLimit: { perIdentity: { points: 10, windowSeconds: 60 }, failMode },
      });
    const token = await h.token([]);
    for (const [mode, status] of [
      ['closed', 503],
      ['open', 200],
    ] as const) {
      const s = make(mode);
      const res = await s.app.inject({
        method: 'POST',
        url: '/message',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: { jsonrpc: '2.0', id: 1, method: 'ping' },
      });
      expect(res.statusCode).toBe(status);
      if (status === 503) expect(res.json().error.data.code).toBe('BROKER_RATE_LIMIT_UNAVAILABLE');
      await s.close();
    }
    dead.disconnect();
  });
});

import { randomUUID } from 'node:crypto';
import { toolCallId } from '@mcp-broker/broker';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type IngressUnderTest, ingressUnderTest } from '../test-support/ingress-under-test.ts';

/**
 * Every 4xx the tool-call and dead-letter routes answer, through the real app (auth, routes,
 * intake, repository, queues) on real Redis and the embedded store: the status, the stable code,
 * the request id echoed in the body, and the field or limit named where there is one.
 */
let t: IngressUnderTest;
const apex = () => basic('apex', 'apex-password');
const admin = () => basic('admin', 'admin-password');
const BODY_LIMIT = 4096;

beforeAll(async () => {
  t = await ingressUnderTest({
    app: { bodyLimit: BODY_LIMIT },
    apexTools: ['echo', 'strict', 'missing'],
    // Stands in for the endpoint's tools/list: `missing` does not exist, `strict` wants a number `n`.
    validator: {
      validate: async (_caller, tool, args) => {
        if (tool === 'missing') return { kind: 'unknown_tool' };
        if (tool === 'strict' && typeof args.n !== 'number') {
          return { kind: 'invalid', fields: [{ field: 'n', problem: 'expected a number' }] };
        }
        return { kind: 'ok' };
      },
    },
    auth: { basicLoginLimits: { perUsername: 3, perAddress: 1000, total: 1000 } },
  });
}, 60_000);
afterAll(async () => t?.close());

function expectError(res: LightMyRequestResponse, status: number, code: string, requestId: string) {
  expect(res.statusCode, res.body).toBe(status);
  const { error } = res.json() as { error: { code: string; requestId: string; message: string } };
  expect(error).toMatchObject({ code, requestId });
  expect(error.message.length).toBeGreaterThan(0);
  return error as { code: string; requestId: string; message: string; details?: Record<string, unknown> };
}

const submit = (
  requestId: string,
  body: unknown,
  headers: Record<string, string | undefined> = {},
  /** null: no Authorization header at all. */
  authorization: string | null = apex(),
) => {
  const all: Record<string, string | undefined> = {
    ...(authorization === null ? {} : { authorization }),
    'content-type': 'application/json',
    'idempotency-key': randomUUID(),
    'x-request-id': requestId,
    ...headers,
  };
  return t.app.inject({
    method: 'POST',
    url: '/v1/tool-calls',
    headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined)),
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
};

const fieldsOf = (details: Record<string, unknown> | undefined) =>
  ((details?.fields ?? []) as { field: string }[]).map((f) => f.field);

describe('400: bad input names the field or the limit', () => {
  it('a body without a tool, or with arguments that are not an object, is BROKER_VALIDATION_FAILED naming each field', async () => {
    const noTool = expectError(
      await submit('r-400-tool', { arguments: {} }),
      400,
      'BROKER_VALIDATION_FAILED',
      'r-400-tool',
    );
    expect(fieldsOf(noTool.details)).toContain('body.tool');
    const badArgs = expectError(
      await submit('r-400-args', { tool: 'echo', arguments: 'x' }),
      400,
      'BROKER_VALIDATION_FAILED',
      'r-400-args',
    );
    expect(fieldsOf(badArgs.details)).toContain('body.arguments');
  });

  it('a query parameter out of range is BROKER_VALIDATION_FAILED naming it', async () => {
    const id = toolCallId('apex', randomUUID());
    const wait = await t.app.inject({
      method: 'GET',
      url: `/v1/tool-calls/${id}?wait=101`,
      headers: { authorization: apex(), 'x-request-id': 'r-400-wait' },
    });
    expect(fieldsOf(expectError(wait, 400, 'BROKER_VALIDATION_FAILED', 'r-400-wait').details)).toContain(
      'querystring.wait',
    );
    const status = await t.app.inject({
      method: 'GET',
      url: '/v1/tool-calls?status=done',
      headers: { authorization: apex(), 'x-request-id': 'r-400-status' },
    });
    expect(fieldsOf(expectError(status, 400, 'BROKER_VALIDATION_FAILED', 'r-400-status').details)).toContain(
      'querystring.status',
    );
  });

  it('a body that is not JSON is BROKER_MALFORMED_JSON', async () => {
    expectError(await submit('r-400-json', '{"tool":'), 400, 'BROKER_MALFORMED_JSON', 'r-400-json');
  });

  it('no Idempotency-Key (header or body) is BROKER_IDEMPOTENCY_KEY_MISSING', async () => {
    expectError(
      await submit('r-400-key', { tool: 'echo', arguments: {} }, { 'idempotency-key': undefined }),
      400,
      'BROKER_IDEMPOTENCY_KEY_MISSING',
      'r-400-key',
    );
  });

  it('a callback host off the caller’s allowlist is BROKER_CALLBACK_NOT_ALLOWED naming the target', async () => {
    const error = expectError(
      await submit('r-400-cb', {
        tool: 'echo',
        arguments: {},
        writeBack: [{ type: 'http-callback', url: 'https://evil.example.org/hook' }],
      }),
      400,
      'BROKER_CALLBACK_NOT_ALLOWED',
      'r-400-cb',
    );
    expect(error.message).toContain('writeBack[0]');
  });

  it('a Salesforce write-back to an org the caller does not have is BROKER_WRITE_BACK_NOT_ALLOWED', async () => {
    expectError(
      await submit('r-400-sf', {
        tool: 'echo',
        arguments: {},
        writeBack: [{ type: 'salesforce-result', org: 'no-such-org' }],
      }),
      400,
      'BROKER_WRITE_BACK_NOT_ALLOWED',
      'r-400-sf',
    );
  });

  it('arguments the tool’s schema refuses are BROKER_INVALID_ARGUMENTS naming the field', async () => {
    const error = expectError(
      await submit('r-400-inv', { tool: 'strict', arguments: { n: 'one' } }),
      400,
      'BROKER_INVALID_ARGUMENTS',
      'r-400-inv',
    );
    expect(fieldsOf(error.details)).toEqual(['n']);
  });

  it('a body nested deeper than the limit is BROKER_PAYLOAD_TOO_DEEP naming the limit', async () => {
    const error = expectError(
      await submit('r-400-deep', `{"tool":"echo","arguments":{"x":${'['.repeat(100)}${']'.repeat(100)}}}`),
      400,
      'BROKER_PAYLOAD_TOO_DEEP',
      'r-400-deep',
    );
    expect(error.details).toMatchObject({ limitDepth: 64 });
  });
});

describe('401: missing or wrong credentials, with a challenge', () => {
  it.each([
    ['no Authorization header', null, 'BROKER_TOKEN_MISSING'],
    ['a wrong Basic password', basic('apex', 'guess'), 'BROKER_CREDENTIALS_INVALID'],
    ['a Bearer token that is not a JWT', 'Bearer not-a-jwt', 'BROKER_TOKEN_INVALID'],
  ])('%s is %s', async (_what, authorization, code) => {
    const requestId = `r-401-${code}`;
    const res = await submit(requestId, { tool: 'echo', arguments: {} }, {}, authorization);
    expectError(res, 401, code, requestId);
    expect(res.headers['www-authenticate']).toContain('Basic realm="mcp-broker"');
  });
});

describe('403: authenticated but not allowed', () => {
  it('a tool off the caller’s allowlist is BROKER_TOOL_NOT_ALLOWED naming the tool', async () => {
    const error = expectError(
      await submit('r-403-tool', { tool: 'delete_everything', arguments: {} }),
      403,
      'BROKER_TOOL_NOT_ALLOWED',
      'r-403-tool',
    );
    expect(error.details).toMatchObject({ tool: 'delete_everything' });
  });

  it('the dead-letter routes for a caller that is not an admin are BROKER_ADMIN_REQUIRED', async () => {
    for (const [method, url, payload] of [
      ['GET', '/v1/dead-letters', undefined],
      ['POST', '/v1/dead-letters/replay', { caller: 'apex' }],
      ['POST', `/v1/dead-letters/${toolCallId('apex', 'x')}/replay`, undefined],
    ] as const) {
      const res = await t.app.inject({
        method,
        url,
        headers: {
          authorization: apex(),
          'x-request-id': 'r-403-admin',
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
        ...(payload ? { payload: JSON.stringify(payload) } : {}),
      });
      expectError(res, 403, 'BROKER_ADMIN_REQUIRED', 'r-403-admin');
    }
  });
});

describe('404: nothing there for this caller', () => {
  it('an unknown call id, a malformed one, and another caller’s call are all BROKER_CALL_NOT_FOUND', async () => {
    const accepted = await submit('r-404-own', { tool: 'echo', arguments: {} }, {}, admin());
    expect(accepted.statusCode).toBe(202);
    const adminsCall = (accepted.json() as { id: string }).id;
    for (const id of [toolCallId('apex', randomUUID()), 'tc_nope', adminsCall]) {
      for (const [method, url] of [
        ['GET', `/v1/tool-calls/${id}`],
        ['POST', `/v1/tool-calls/${id}/cancel`],
      ] as const) {
        const res = await t.app.inject({ method, url, headers: { authorization: apex(), 'x-request-id': 'r-404' } });
        expectError(res, 404, 'BROKER_CALL_NOT_FOUND', 'r-404');
      }
    }
  });

  it('a tool the endpoint does not offer is BROKER_TOOL_NOT_FOUND', async () => {
    expectError(
      await submit('r-404-tool', { tool: 'missing', arguments: {} }),
      404,
      'BROKER_TOOL_NOT_FOUND',
      'r-404-tool',
    );
  });

  it('replaying a call that is not dead-lettered is BROKER_CALL_NOT_FOUND', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/dead-letters/${toolCallId('apex', randomUUID())}/replay`,
      headers: { authorization: admin(), 'x-request-id': 'r-404-dl' },
    });
    expectError(res, 404, 'BROKER_CALL_NOT_FOUND', 'r-404-dl');
  });

  it('an unknown route is BROKER_NOT_FOUND', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/tool-call',
      headers: { authorization: apex(), 'x-request-id': 'r-404-route' },
    });
    expectError(res, 404, 'BROKER_NOT_FOUND', 'r-404-route');
  });
});

describe('405: a path that exists, a method it does not serve', () => {
  it.each([
    ['DELETE', '/v1/tool-calls/tc_x', 'GET'],
    ['PUT', '/v1/tool-calls', 'GET, POST'],
    ['GET', '/v1/tool-calls/tc_x/cancel', 'POST'],
    ['DELETE', '/v1/dead-letters', 'GET'],
    ['GET', '/v1/dead-letters/replay', 'POST'],
  ] as const)('%s %s is BROKER_METHOD_NOT_ALLOWED with Allow: %s', async (method, url, allow) => {
    const res = await t.app.inject({ method, url, headers: { authorization: apex(), 'x-request-id': 'r-405' } });
    const error = expectError(res, 405, 'BROKER_METHOD_NOT_ALLOWED', 'r-405');
    expect(res.headers.allow).toBe(allow);
    expect(error.details).toEqual({ allow: allow.split(', ') });
  });

  it('asks for credentials first, as every other API route does', async () => {
    const res = await t.app.inject({
      method: 'DELETE',
      url: '/v1/tool-calls/tc_x',
      headers: { 'x-request-id': 'r-405-anon' },
    });
    expectError(res, 401, 'BROKER_TOKEN_MISSING', 'r-405-anon');
  });

  it('stays out of the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/v1/tool-calls/{id}'] ?? {})).toEqual(['get']);
  });
});

describe('409: the call is in the wrong state, or the key is busy', () => {
  it('cancelling a call that already ended is BROKER_CALL_FINAL', async () => {
    const accepted = await submit('r-409-submit', { tool: 'echo', arguments: {} });
    const { id } = accepted.json() as { id: string };
    const first = await t.app.inject({
      method: 'POST',
      url: `/v1/tool-calls/${id}/cancel`,
      headers: { authorization: apex() },
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: 'cancelled' });
    const again = await t.app.inject({
      method: 'POST',
      url: `/v1/tool-calls/${id}/cancel`,
      headers: { authorization: apex(), 'x-request-id': 'r-409-final' },
    });
    expectError(again, 409, 'BROKER_CALL_FINAL', 'r-409-final');
  });

  it('a submission while another request with the same key is being accepted is BROKER_IDEMPOTENCY_IN_PROGRESS, and records nothing', async () => {
    const key = randomUUID();
    // Another replica holds the key's lock (its token is not this process's).
    await t.redis.set(`${t.prefix}idem:${toolCallId('apex', key)}`, `other-replica:${randomUUID()}`, 'PX', 10_000);
    const res = await submit('r-409-busy', { tool: 'echo', arguments: {} }, { 'idempotency-key': key });
    expectError(res, 409, 'BROKER_IDEMPOTENCY_IN_PROGRESS', 'r-409-busy');
    expect(await t.repository.get('apex', toolCallId('apex', key))).toBeUndefined();
  });
});

describe('413, 414, 415: the request itself is too big or of the wrong type', () => {
  it('a body over the limit is BROKER_BODY_TOO_LARGE naming the limit', async () => {
    const res = await submit('r-413', { tool: 'echo', arguments: { x: 'y'.repeat(BODY_LIMIT) } });
    const error = expectError(res, 413, 'BROKER_BODY_TOO_LARGE', 'r-413');
    expect(error.message).toContain(String(BODY_LIMIT));
  });

  it('a path longer than the router takes is BROKER_URI_TOO_LONG', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/tool-calls/tc_${'a'.repeat(5000)}`,
      headers: { authorization: apex(), 'x-request-id': 'r-414' },
    });
    expectError(res, 414, 'BROKER_URI_TOO_LONG', 'r-414');
  });

  it('a body that is not application/json is BROKER_UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await submit('r-415', 'tool=echo', { 'content-type': 'text/plain' });
    expectError(res, 415, 'BROKER_UNSUPPORTED_MEDIA_TYPE', 'r-415');
  });
});

describe('422: the same key for a different call', () => {
  it('reusing an Idempotency-Key with another body is BROKER_IDEMPOTENCY_KEY_REUSED, and the first call stands', async () => {
    const key = randomUUID();
    const first = await submit('r-422-a', { tool: 'echo', arguments: { n: 1 } }, { 'idempotency-key': key });
    expect(first.statusCode).toBe(202);
    const second = await submit('r-422-b', { tool: 'echo', arguments: { n: 2 } }, { 'idempotency-key': key });
    expectError(second, 422, 'BROKER_IDEMPOTENCY_KEY_REUSED', 'r-422-b');
    expect((await t.repository.get('apex', toolCallId('apex', key)))?.arguments).toEqual({ n: 1 });
  });
});

describe('429: too many failed logins', () => {
  it('past the per-username limit a login attempt is BROKER_AUTH_THROTTLED with Retry-After and no challenge', async () => {
    const ghost = basic('ghost', 'guess');
    for (let i = 0; i < 3; i++) {
      const res = await submit(`r-429-${i}`, { tool: 'echo', arguments: {} }, {}, ghost);
      expect(res.statusCode).toBe(401);
    }
    const res = await submit('r-429', { tool: 'echo', arguments: {} }, {}, ghost);
    expectError(res, 429, 'BROKER_AUTH_THROTTLED', 'r-429');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.headers['www-authenticate']).toBeUndefined();
    // Another username is not throttled by ghost's failures.
    expect((await submit('r-429-apex', { tool: 'echo', arguments: {} })).statusCode).toBe(202);
  });
});

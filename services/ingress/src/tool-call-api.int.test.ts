import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type IngressUnderTest, ingressUnderTest } from '../test-support/ingress-under-test.ts';

let t: IngressUnderTest;
const apex = () => basic('apex', 'apex-password');
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

beforeAll(async () => {
  t = await ingressUnderTest({ app: { maxJsonDepth: 16 } });
}, 60_000);
afterAll(async () => t?.close());

async function queuedJobKeys(): Promise<string[]> {
  return t.redis.keys(`${t.prefix}*`);
}

describe('POST /v1/tool-calls with deeply nested arguments', () => {
  it('answers 400 naming the configured depth limit and the request id, and records and queues nothing', async () => {
    for (const depth of [17, 10_000]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/tool-calls',
        headers: {
          authorization: apex(),
          'content-type': 'application/json',
          'idempotency-key': `deep-${depth}`,
          'x-request-id': `req-deep-${depth}`,
        },
        payload: `{"tool":"echo","arguments":{"x":${nested(depth)}}}`,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'BROKER_PAYLOAD_TOO_DEEP',
        requestId: `req-deep-${depth}`,
        details: { limitDepth: 16 },
      });
      expect(res.json().error.message).toContain('16');
    }
    const list = await t.app.inject({ method: 'GET', url: '/v1/tool-calls', headers: { authorization: apex() } });
    expect(list.json().items).toEqual([]);
    expect(await queuedJobKeys()).toEqual([]);
  });

  it('accepts arguments nested up to the limit', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/tool-calls',
      headers: { authorization: apex(), 'content-type': 'application/json', 'idempotency-key': 'deep-ok' },
      // body object + arguments object + 14 arrays = 16 levels
      payload: `{"tool":"echo","arguments":{"x":${nested(14)}}}`,
    });
    expect(res.statusCode).toBe(202);
  });
});

describe('GET /v1/tool-calls with a forged pageToken', () => {
  it('answers 400 naming pageToken, not 500', async () => {
    for (const token of ['forged', '{"token":"x","range":{"min":"","max":"FF"}}', 'e30', '[]', '{}']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/tool-calls?pageToken=${encodeURIComponent(token)}`,
        headers: { authorization: apex(), 'x-request-id': 'req-forged' },
      });
      expect(res.statusCode, token).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'BROKER_VALIDATION_FAILED',
        requestId: 'req-forged',
        details: { fields: [{ field: 'querystring.pageToken' }] },
      });
    }
  });
});

describe('Basic authentication failures', () => {
  it('a wrong password answers 401 BROKER_CREDENTIALS_INVALID with a Basic challenge', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/tool-calls',
      headers: { authorization: basic('apex', 's3cret-guess'), 'x-request-id': 'req-wrong' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ code: 'BROKER_CREDENTIALS_INVALID', requestId: 'req-wrong' });
    expect(res.headers['www-authenticate']).toMatch(/Basic realm="mcp-broker"/);
    expect(res.body).not.toContain('s3cret-guess');
  });
});

describe('a path longer than the router accepts', () => {
  it('answers 414 BROKER_URI_TOO_LONG in the broker error body, without echoing the path', async () => {
    const id = `tc_${'a'.repeat(5000)}`;
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/tool-calls/${id}`,
      headers: { authorization: apex(), 'x-request-id': 'req-long' },
    });
    expect(res.statusCode).toBe(414);
    expect(res.json().error).toMatchObject({ code: 'BROKER_URI_TOO_LONG', requestId: 'req-long' });
    expect(res.body).not.toContain('aaaaaaaaaaaaaaaaaaaa');
  });

  it('a bad percent-encoding answers 400 in the broker error body; an unknown long path 404 without echoing it all', async () => {
    const bad = await t.app.inject({
      method: 'GET',
      url: '/v1/tool-calls/%zz',
      headers: { 'x-request-id': 'req-bad' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['x-request-id']).toBe('req-bad');
    expect(bad.json().error).toMatchObject({ code: 'BROKER_VALIDATION_FAILED', requestId: 'req-bad' });
    const unknown = await t.app.inject({ method: 'GET', url: `/v1/${'b'.repeat(5000)}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('BROKER_NOT_FOUND');
    expect(unknown.body.length).toBeLessThan(600);
  });
});

describe('the names the OpenAPI document uses for External Services, and the old ones', () => {
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/tool-calls',
      headers: { authorization: apex(), 'content-type': 'application/json', ...headers },
      payload: payload as Record<string, unknown>,
    });

  it('accepts argumentsJson, body.idempotencyKey and writeBack kind as the same call as arguments, the header and type', async () => {
    const target = 'https://hooks.example.com/cb';
    const documented = await post({
      tool: 'echo',
      argumentsJson: '{"n":1,"deep":{"a":[1,2]}}',
      idempotencyKey: 'names-1',
      writeBack: [{ kind: 'http-callback', url: target }],
    });
    expect(documented.statusCode, documented.body).toBe(202);
    const old = await post(
      { tool: 'echo', arguments: { deep: { a: [1, 2] }, n: 1 }, writeBack: [{ type: 'http-callback', url: target }] },
      { 'idempotency-key': 'names-1' },
    );
    // Same key, same call: the old names describe the very same request.
    expect(old.statusCode).toBe(200);
    expect(old.json().id).toBe(documented.json().id);
    const view = await t.app.inject({
      method: 'GET',
      url: `/v1/tool-calls/${documented.json().id}`,
      headers: { authorization: apex() },
    });
    expect(view.json().deliveries[0]).toMatchObject({ kind: 'http-callback', type: 'http-callback', url: target });
  });

  it('refuses argumentsJson that is not a JSON object, nested too deep, or sent with arguments, naming the field', async () => {
    for (const [body, problem] of [
      [{ tool: 'echo', argumentsJson: '[1]', idempotencyKey: 'aj-1' }, 'must be a JSON object'],
      [{ tool: 'echo', argumentsJson: '{"x":', idempotencyKey: 'aj-2' }, 'not valid JSON'],
      [{ tool: 'echo', argumentsJson: '{}', arguments: {}, idempotencyKey: 'aj-3' }, 'not both'],
    ] as const) {
      const res = await post(body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.fields[0]).toMatchObject({ field: 'body.argumentsJson' });
      expect(res.json().error.details.fields[0].problem).toContain(problem);
    }
    const deep = await post({ tool: 'echo', argumentsJson: `{"x":${nested(10_000)}}`, idempotencyKey: 'aj-4' });
    expect(deep.statusCode).toBe(400);
    expect(deep.json().error).toMatchObject({
      code: 'BROKER_PAYLOAD_TOO_DEEP',
      details: { field: 'body.argumentsJson' },
    });
  });

  it('refuses a body idempotencyKey that differs from the header', async () => {
    const res = await post({ tool: 'echo', idempotencyKey: 'a' }, { 'idempotency-key': 'b' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.fields[0].field).toBe('body.idempotencyKey');
  });

  it('pages with pageSize, and still with limit', async () => {
    for (const q of ['pageSize=1', 'limit=1']) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/tool-calls?${q}`, headers: { authorization: apex() } });
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toHaveLength(1);
      expect(res.json().nextPageToken).toBeTruthy();
    }
  });
});

describe('the largest MAX_JSON_DEPTH ingress allows', () => {
  it('still fingerprints and records arguments nested up to it (canonical JSON recurses per level)', async () => {
    const deepest = await ingressUnderTest({ app: { maxJsonDepth: 1000 } });
    try {
      const res = await deepest.app.inject({
        method: 'POST',
        url: '/v1/tool-calls',
        headers: { authorization: apex(), 'content-type': 'application/json', 'idempotency-key': 'deepest' },
        payload: `{"tool":"echo","arguments":{"x":${nested(998)}}}`,
      });
      expect(res.statusCode, res.body).toBe(202);
      // The same body again is the same call: the fingerprint of the deep value is stable.
      const again = await deepest.app.inject({
        method: 'POST',
        url: '/v1/tool-calls',
        headers: { authorization: apex(), 'content-type': 'application/json', 'idempotency-key': 'deepest' },
        payload: `{"tool":"echo","arguments":{"x":${nested(998)}}}`,
      });
      expect(again.statusCode).toBe(200);
    } finally {
      await deepest.close();
    }
  });
});

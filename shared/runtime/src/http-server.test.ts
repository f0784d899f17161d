import { BrokerError } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { buildHttpServer } from './http-server.ts';
import { createLogger } from './logger.ts';

const logger = createLogger({ name: 't', level: 'silent' });

describe('http server factory', () => {
  it('echoes a caller request id and mints one otherwise', async () => {
    const app = buildHttpServer({ logger });
    const given = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const minted = await app.inject({ url: '/healthz' });
    expect(minted.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 413 naming the limit, with the request id', async () => {
    const app = buildHttpServer({ logger, bodyLimit: 100 });
    app.post('/echo', async (req) => req.body);
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json', 'x-request-id': 'big-1' },
      payload: JSON.stringify({ pad: 'x'.repeat(200) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({
      error: {
        code: 'BROKER_BODY_TOO_LARGE',
        message: 'Request body exceeds the limit of 100 bytes.',
        requestId: 'big-1',
        details: { limitBytes: 100 },
      },
    });
  });

  it('refuses a body nested past the depth limit with 400 naming the limit, before any route runs', async () => {
    const app = buildHttpServer({ logger, maxJsonDepth: 8 });
    let ran = false;
    app.post('/echo', async (req) => {
      ran = true;
      return req.body;
    });
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json', 'x-request-id': 'deep-1' },
      payload: deep,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'BROKER_PAYLOAD_TOO_DEEP',
      requestId: 'deep-1',
      details: { limitDepth: 8 },
    });
    expect(ran).toBe(false);
    const ok = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":{"b":[1,2]}}',
    });
    expect(ok.json()).toEqual({ a: { b: [1, 2] } });
  });

  it('still refuses prototype poisoning in JSON bodies', async () => {
    const app = buildHttpServer({ logger });
    app.post('/echo', async (req) => req.body);
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"__proto__":{"admin":true}}',
    });
    expect(res.statusCode).toBe(400);
  });

  it('maps a thrown BrokerError to its status, headers and body', async () => {
    const app = buildHttpServer({ logger });
    app.get('/limited', async () => {
      throw new BrokerError('BROKER_RATE_LIMITED', 'Too many calls.', { headers: { 'retry-after': '7' } });
    });
    const res = await app.inject({ url: '/limited' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json().error.code).toBe('BROKER_RATE_LIMITED');
  });

  it('hides internal error details behind BROKER_INTERNAL', async () => {
    const app = buildHttpServer({ logger });
    app.get('/boom', async () => {
      throw new Error('database password is hunter2');
    });
    const res = await app.inject({ url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('hunter2');
    expect(res.json().error.code).toBe('BROKER_INTERNAL');
  });

  it('answers 503 with Retry-After when a dependency is unreachable, without its details', async () => {
    const app = buildHttpServer({ logger });
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443 (key=secret)'), {
      code: 'ECONNREFUSED',
    });
    app.get('/store-down', async () => {
      throw new Error('request failed', { cause: refused });
    });
    app.get('/store-throttled', async () => {
      throw Object.assign(new Error('Request rate is large'), { code: 429, headers: { 'x-ms-retry-after-ms': '50' } });
    });
    app.get('/conflict', async () => {
      throw Object.assign(new Error('Conflict'), { code: 409, headers: {} });
    });
    for (const url of ['/store-down', '/store-throttled']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().error).toMatchObject({ code: 'BROKER_NOT_READY', message: expect.stringContaining('Retry') });
      expect(res.body).not.toContain('10.0.0.7');
    }
    // Any other failure of the store is not "retry later": it stays an internal error.
    expect((await app.inject({ url: '/conflict' })).statusCode).toBe(500);
  });

  it('refuses a text/plain body with 415, naming the content type to send', async () => {
    const app = buildHttpServer({ logger });
    app.post('/json', async (request) => ({ got: request.body }));
    const res = await app.inject({
      method: 'POST',
      url: '/json',
      headers: { 'content-type': 'text/plain' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toMatchObject({
      code: 'BROKER_UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringContaining('application/json'),
    });
    const ok = await app.inject({
      method: 'POST',
      url: '/json',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(ok.statusCode).toBe(200);
  });

  it('readiness reports each dependency and 503 when one fails', async () => {
    const app = buildHttpServer({
      logger,
      readiness: {
        store: async () => {},
        redis: async () => Promise.reject(new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.5:6379\n    at x')),
      },
    });
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'not_ready',
      checks: { store: 'ok', redis: 'unavailable' },
      reasons: { redis: 'connect ECONNREFUSED redis://[REDACTED]@10.0.0.5:6379' },
    });
    expect(res.body).not.toContain('hunter2');
  });

  it('unknown routes get a 404 naming the route', async () => {
    const app = buildHttpServer({ logger });
    const res = await app.inject({ url: '/nope?secret=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toBe('No route for GET /nope.');
  });
});

import type { UpstreamCredentialConfig } from '@mcp-broker/broker-config';
import { type DevOAuthServer, startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpSandbox, startHttpSandbox } from '../test-support/http-sandbox.ts';
import { closedPortUrl } from '../test-support/tcp-proxy.ts';
import { McpCallError } from './mcp-call-error.ts';
import { createTokenProvider } from './token-provider.ts';

const audience = 'api://mcp-broker-test';
const secret = 'worker-secret-0123456789-abcdef';
const env = { WORKER_SECRET: secret };
const FIVE_MINUTES = 5 * 60_000;

let oauth: DevOAuthServer;
let sandbox: HttpSandbox;

beforeAll(async () => {
  oauth = await startDevOAuthServer({
    audience,
    clients: [{ clientId: 'worker-app', clientSecret: secret, roles: ['Test.Echo', 'Test.Admin'] }],
  });
  sandbox = await startHttpSandbox();
});
afterAll(async () => {
  await oauth.close();
  await sandbox.close();
});

function credential(overrides: Partial<Extract<UpstreamCredentialConfig, { type: 'client-credentials' }>> = {}) {
  return {
    type: 'client-credentials' as const,
    tokenUrl: oauth.tokenEndpoint,
    clientId: 'worker-app',
    clientSecret: { fromEnv: 'WORKER_SECRET' },
    scope: 'Test.Echo',
    ...overrides,
  };
}

function decodeJwt(token: string): { exp?: number } & Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** Wraps the real fetch to count token endpoint hits and keep the request bodies. */
function countingFetch() {
  const bodies: URLSearchParams[] = [];
  const fetcher = async (input: string | URL, init?: RequestInit) => {
    bodies.push(new URLSearchParams(String(init?.body ?? '')));
    return fetch(input, init);
  };
  return { fetch: fetcher, bodies };
}

describe('client-credentials token provider against the dev OAuth server', () => {
  it('posts the client-credentials form with scope and no resource, and caches the token', async () => {
    const counter = countingFetch();
    const provider = createTokenProvider(credential(), { env, fetch: counter.fetch });
    const token = await provider.getToken();
    expect(decodeJwt(token)).toMatchObject({ iss: oauth.issuer, aud: audience, sub: 'worker-app', scope: 'Test.Echo' });
    expect(await provider.getToken()).toBe(token);
    expect(counter.bodies).toHaveLength(1);
    const form = Object.fromEntries(counter.bodies[0]!);
    expect(form).toEqual({
      grant_type: 'client_credentials',
      client_id: 'worker-app',
      client_secret: secret,
      scope: 'Test.Echo',
    });
    expect(form).not.toHaveProperty('resource');
  });

  it('refreshes only once the token is within refreshBeforeMs of its expiry', async () => {
    const counter = countingFetch();
    let clock = Date.now();
    const provider = createTokenProvider(credential(), { env, fetch: counter.fetch, now: () => clock });
    const first = await provider.getToken();
    const expiresAt = decodeJwt(first).exp! * 1000; // the dev server issues one-hour tokens
    clock = expiresAt - FIVE_MINUTES - 10_000;
    expect(await provider.getToken()).toBe(first);
    expect(counter.bodies).toHaveLength(1);
    clock = expiresAt - FIVE_MINUTES + 10_000;
    const second = await provider.getToken();
    expect(second).not.toBe(first);
    expect(counter.bodies).toHaveLength(2);
    // The new token is cached in turn (its expiry is an hour after the server's clock).
    clock = decodeJwt(second).exp! * 1000 - FIVE_MINUTES - 10_000;
    expect(await provider.getToken()).toBe(second);
    expect(counter.bodies).toHaveLength(2);
  });

  it('honours a custom refreshBeforeMs', async () => {
    const counter = countingFetch();
    let clock = Date.now();
    const provider = createTokenProvider(credential(), {
      env,
      fetch: counter.fetch,
      now: () => clock,
      refreshBeforeMs: 50 * 60_000,
    });
    const first = await provider.getToken();
    clock += 11 * 60_000; // one-hour token, refreshed from 50 minutes before expiry
    expect(await provider.getToken()).not.toBe(first);
    expect(counter.bodies).toHaveLength(2);
  });

  it('shares one token request among 20 concurrent callers, on first use and on refresh', async () => {
    const counter = countingFetch();
    let clock = Date.now();
    const provider = createTokenProvider(credential(), { env, fetch: counter.fetch, now: () => clock });
    const first = await Promise.all(Array.from({ length: 20 }, () => provider.getToken()));
    expect(new Set(first).size).toBe(1);
    expect(counter.bodies).toHaveLength(1);
    clock = decodeJwt(first[0]!).exp! * 1000 - 60_000;
    const refreshed = await Promise.all(Array.from({ length: 20 }, () => provider.getToken()));
    expect(new Set(refreshed).size).toBe(1);
    expect(refreshed[0]).not.toBe(first[0]);
    expect(counter.bodies).toHaveLength(2);
  });

  it('fetches a new token on forceRefresh (after a 401) even when the cached one looks valid', async () => {
    const counter = countingFetch();
    const provider = createTokenProvider(credential(), { env, fetch: counter.fetch });
    const first = await provider.getToken();
    const forced = await provider.getToken({ forceRefresh: true });
    expect(forced).not.toBe(first);
    expect(await provider.getToken()).toBe(forced);
    expect(counter.bodies).toHaveLength(2);
  });

  it('fails permanently with the OAuth error on a wrong secret, never echoing the secret', async () => {
    const wrong = 'not-the-secret-9f8e7d6c5b4a';
    const provider = createTokenProvider(credential(), { env: { WORKER_SECRET: wrong } });
    const err = await provider.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpCallError);
    expect(err).toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_AUTH_FAILED',
      httpStatus: 401,
      details: { oauthError: 'invalid_client' },
    });
    const error = err as McpCallError;
    expect(error.message).toContain('invalid_client');
    expect(error.message).toContain('"worker-app"');
    for (const text of [error.message, JSON.stringify(error), String(error.stack)]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(secret);
    }
  });

  it('fails permanently, naming the variable, when the secret is not in the environment', async () => {
    const provider = createTokenProvider(credential(), { env: {} });
    await expect(provider.getToken()).rejects.toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_AUTH_FAILED',
      message: expect.stringContaining('WORKER_SECRET'),
    });
  });

  it('fails permanently for a client the token endpoint does not know', async () => {
    const provider = createTokenProvider(credential({ clientId: 'unknown-app' }), { env });
    await expect(provider.getToken()).rejects.toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_AUTH_FAILED',
      httpStatus: 401,
    });
  });
});

describe('client-credentials token provider on token endpoint failures', () => {
  it('is transient when the token endpoint is unreachable', async () => {
    const provider = createTokenProvider(credential({ tokenUrl: `${await closedPortUrl()}/token` }), { env });
    const err = (await provider.getToken().catch((e: unknown) => e)) as McpCallError;
    expect(err).toMatchObject({ kind: 'transient', code: 'UPSTREAM_AUTH_UNAVAILABLE' });
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('is transient on 5xx and rate limited with Retry-After on 429', async () => {
    const provider = createTokenProvider(credential({ tokenUrl: `${sandbox.url}/token` }), { env });
    sandbox.respond({ status: 503, body: { error: 'temporarily_unavailable', error_description: `busy ${secret}` } });
    const unavailable = (await provider.getToken().catch((e: unknown) => e)) as McpCallError;
    expect(unavailable).toMatchObject({ kind: 'transient', code: 'UPSTREAM_AUTH_UNAVAILABLE', httpStatus: 503 });
    expect(unavailable.message).toContain('temporarily_unavailable');
    expect(unavailable.message).not.toContain(secret);

    sandbox.respond({ status: 429, headers: { 'retry-after': '7' }, body: { error: 'throttled' } });
    await expect(provider.getToken()).rejects.toMatchObject({
      kind: 'rate_limited',
      code: 'UPSTREAM_AUTH_UNAVAILABLE',
      retryAfterMs: 7000,
    });
  });

  it('keeps using a still-valid token when an early refresh fails, and fails once it has expired', async () => {
    let clock = 1_000_000;
    const provider = createTokenProvider(credential({ tokenUrl: `${sandbox.url}/token` }), {
      env,
      now: () => clock,
      refreshBeforeMs: 60_000,
    });
    sandbox.respond(
      { status: 200, body: { access_token: 'opaque-token-1', token_type: 'Bearer', expires_in: 600 } },
      { status: 503, body: { error: 'temporarily_unavailable' } },
    );
    expect(await provider.getToken()).toBe('opaque-token-1');
    clock += 590_000; // inside the refresh window, still valid
    expect(await provider.getToken()).toBe('opaque-token-1');
    clock += 20_000; // expired
    await expect(provider.getToken()).rejects.toMatchObject({ kind: 'transient', code: 'UPSTREAM_AUTH_UNAVAILABLE' });
  });

  it('refuses a 200 answer without an access token', async () => {
    const provider = createTokenProvider(credential({ tokenUrl: `${sandbox.url}/token` }), { env });
    sandbox.respond({ status: 200, body: { token_type: 'Bearer' } });
    await expect(provider.getToken()).rejects.toMatchObject({ kind: 'permanent', code: 'UPSTREAM_AUTH_FAILED' });
  });
});

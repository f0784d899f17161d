import { createTokenVerifier } from '@mcp-broker/auth';
import { type LocalTestIssuer, startLocalTestIssuer } from '@mcp-broker/auth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, RESOURCE, type Replica, startHarness } from '../../test-support/mcp-test-harness.ts';
import { waits } from '../../test-support/test-tools.ts';

/**
 * Two trusted issuers that both issue `sub: app-1`: the two tokens name different callers, so no
 * per-identity state (SSE session ownership, rate-limit counters, cancellation) may be shared.
 */
let h: Harness;
let other: LocalTestIssuer;
let replica: Replica;
let tokenA: string;
let tokenB: string;

const PER_IDENTITY = 4;

beforeAll(async () => {
  h = await startHarness();
  other = await startLocalTestIssuer();
  replica = await h.startReplica({
    verifier: createTokenVerifier({
      issuers: [{ issuer: h.issuer.issuer }, { issuer: other.issuer }],
      audience: RESOURCE,
    }),
    authorizationServers: [h.issuer.issuer, other.issuer],
    rateLimit: { perIdentity: { points: PER_IDENTITY, windowSeconds: 60 } },
  });
  tokenA = await h.token(['Test.Echo']);
  tokenB = await other.sign({ sub: 'app-1', azp: 'client-app-1', roles: ['Test.Echo'], aud: RESOURCE });
});
afterAll(async () => {
  await h.close();
  await other.close();
});

async function post(path: string, token: string, body: unknown) {
  const res = await fetch(`${replica.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined;
  return { status: res.status, text, json };
}

/** Opens `GET /sse` and returns the announced message endpoint plus everything the stream delivers. */
async function openSse(token: string) {
  const controller = new AbortController();
  const res = await fetch(`${replica.url}/sse`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let received = '';
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += value;
      }
    } catch {
      // aborted on close
    }
  })();
  await expect.poll(() => /event: endpoint\ndata: (\S+)/.exec(received)?.[1], { timeout: 5000 }).toBeTruthy();
  const endpoint = /event: endpoint\ndata: (\S+)/.exec(received)![1]!;
  return {
    endpoint,
    received: () => received,
    async close() {
      controller.abort();
      await pump;
    },
  };
}

describe('identities from two issuers with the same sub', () => {
  it('a token from another issuer cannot post into an SSE session, and nothing reaches its stream', async () => {
    const session = await openSse(tokenA);
    const foreign = await post(session.endpoint, tokenB, { jsonrpc: '2.0', id: 'intruder-1', method: 'ping' });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.data.code).toBe('BROKER_SESSION_NOT_FOUND');

    const own = await post(session.endpoint, tokenA, { jsonrpc: '2.0', id: 'owner-1', method: 'ping' });
    expect(own.status).toBe(202);
    await expect.poll(() => session.received(), { timeout: 5000 }).toContain('"owner-1"');
    expect(session.received()).not.toContain('intruder-1');
    await session.close();
  });

  it('draws on separate per-identity rate-limit counters', async () => {
    // Spend A's quota (the session test above drew on it too) until A is refused.
    const statuses: number[] = [];
    for (let i = 0; i <= PER_IDENTITY; i += 1) {
      statuses.push((await post('/message', tokenA, { jsonrpc: '2.0', id: i, method: 'ping' })).status);
    }
    expect(statuses.at(-1)).toBe(429);
    const b = await post('/message', tokenB, { jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(b.status).toBe(200);
  });
});

describe('cancellation across issuers', () => {
  let cancelReplica: Replica;
  beforeAll(async () => {
    cancelReplica = await h.startReplica({
      verifier: createTokenVerifier({
        issuers: [{ issuer: h.issuer.issuer }, { issuer: other.issuer }],
        audience: RESOURCE,
      }),
      authorizationServers: [h.issuer.issuer, other.issuer],
    });
  });

  const send = (token: string, body: unknown) =>
    fetch(`${cancelReplica.url}/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });

  it("a same-sub caller of another issuer cannot cancel the first issuer's call", async () => {
    const started = waits.started;
    const aborted = waits.aborted;
    const id = `wait-${Date.now()}`;
    const call = send(tokenA, {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'test_wait', arguments: {} },
    });
    await expect.poll(() => waits.started, { timeout: 5000 }).toBe(started + 1);

    const cancelB = await send(tokenB, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: id },
    });
    expect(cancelB.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(waits.aborted).toBe(aborted);

    const cancelA = await send(tokenA, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: id },
    });
    expect(cancelA.status).toBe(202);
    await expect.poll(() => waits.aborted, { timeout: 5000 }).toBe(aborted + 1);
    await (await call).text();
  });
});

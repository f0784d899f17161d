import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';
import { endpointSchema } from '@mcp-broker/broker-config';
import { callTool, McpClientPool } from '@mcp-broker/mcp-client';
import { poolFor } from '@mcp-broker/mcp-client/test-support/pool-for.ts';
import { scriptedTokenProvider } from '@mcp-broker/mcp-client/test-support/scripted-token-provider.ts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Harness,
  type Replica,
  startHarness,
} from '../../../services/mcp-server/test-support/mcp-test-harness.ts';
import { clientTestTools } from './client-test-tools.ts';

let h: Harness;
let replica: Replica;
const key = { caller: 'caller-1', endpoint: 'local' };
const pools: McpClientPool[] = [];
/** For conditions another process or a socket must bring about: polled, never a fixed sleep. */
const eventually = { timeout: 10_000, interval: 10 };

beforeAll(async () => {
  h = await startHarness({ tools: clientTestTools });
  replica = await h.startReplica();
});
afterAll(async () => {
  await Promise.allSettled(pools.map((p) => p.close()));
  await h.close();
});

function track(pool: McpClientPool): McpClientPool {
  pools.push(pool);
  return pool;
}

/** Real fetch, recording the headers each request went out with. */
function observingFetch() {
  const requests: { method: string; authorization: string | null; subscriptionKey: string | null }[] = [];
  const fetcher = (url: string | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    requests.push({
      method: init?.method ?? 'GET',
      authorization: headers.get('authorization'),
      subscriptionKey: headers.get('ocp-apim-subscription-key'),
    });
    return fetch(url, init);
  };
  return { fetch: fetcher, requests };
}

const echoer = () => scriptedTokenProvider(() => h.token(['Test.Echo']));

describe('McpClientPool', () => {
  it('sends the current token on every request, so a refreshed token applies to a pooled client', async () => {
    const tokens = [await h.token(['Test.Echo'], { jti: 'first' }), await h.token(['Test.Echo'], { jti: 'second' })];
    let current = tokens[0]!;
    const observed = observingFetch();
    const pool = track(
      poolFor(
        replica.url,
        scriptedTokenProvider(() => current),
        {
          fetch: observed.fetch,
          env: { APIM_KEY: 'subscription-key-1' },
          endpoint: { apimSubscriptionKey: { fromEnv: 'APIM_KEY' } },
        },
      ),
    );
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'a' } });
    current = tokens[1]!;
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'b' } });
    expect(pool.stats()).toMatchObject({ created: 1, reused: 1 });
    const posts = observed.requests.filter((r) => r.method === 'POST');
    expect(posts.at(-1)?.authorization).toBe(`Bearer ${tokens[1]}`);
    expect(posts.filter((r) => r.authorization === `Bearer ${tokens[0]}`).length).toBeGreaterThan(0);
    expect(observed.requests.every((r) => r.subscriptionKey === 'subscription-key-1')).toBe(true);
  });

  it('fails permanently, naming the variable, when the subscription key is missing from the environment', async () => {
    const pool = track(
      poolFor(replica.url, echoer(), { endpoint: { apimSubscriptionKey: { fromEnv: 'MISSING_APIM_KEY' } } }),
    );
    await expect(callTool({ pool, key, tool: 'test_echo', arguments: { message: 'x' } })).rejects.toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_AUTH_FAILED',
      message: expect.stringContaining('MISSING_APIM_KEY'),
    });
  });

  it('opens at most maxPerKey clients per key and queues further calls', async () => {
    const pool = track(poolFor(replica.url, echoer(), { maxPerKey: 2 }));
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => callTool({ pool, key, tool: 'test_echo', arguments: { message: `c${i}` } })),
    );
    expect(results.map((r) => r.result.structuredContent)).toEqual(
      Array.from({ length: 6 }, (_, i) => ({ echoed: `c${i}`, subject: 'app-1' })),
    );
    expect(pool.stats()).toMatchObject({ created: 2, reused: 4, open: 2, waiting: 0 });
  });

  it('keeps separate clients per caller, each with its own token provider', async () => {
    const a = scriptedTokenProvider(() => h.token(['Test.Echo'], { sub: 'caller-a' }));
    const b = scriptedTokenProvider(() => h.token(['Test.Echo'], { sub: 'caller-b' }));
    const endpoint = endpointSchema.parse({ url: `${replica.url}/mcp` });
    const pool = track(
      new McpClientPool({ env: {}, resolve: (k) => ({ endpoint, tokenProvider: k.caller === 'a' ? a : b }) }),
    );
    const subject = async (caller: string) =>
      (await callTool({ pool, key: { caller, endpoint: 'local' }, tool: 'test_echo', arguments: { message: 'x' } }))
        .result.structuredContent;
    expect(await subject('a')).toMatchObject({ subject: 'caller-a' });
    expect(await subject('b')).toMatchObject({ subject: 'caller-b' });
    expect(await subject('a')).toMatchObject({ subject: 'caller-a' });
    expect(pool.stats()).toMatchObject({ created: 2, reused: 1 });
  });

  it('closes clients idle for idleMs and connects a new one on the next call', async () => {
    const pool = track(poolFor(replica.url, echoer(), { idleMs: 5 }));
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'x' } });
    await vi.waitFor(() => expect(pool.stats()).toMatchObject({ open: 0, idleClosed: 1 }), eventually);
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'y' } });
    expect(pool.stats()).toMatchObject({ created: 2, open: 1 });
  });

  it('lends through withClient and closes a client released with discard', async () => {
    const pool = track(poolFor(replica.url, echoer()));
    const names = await pool.withClient(key, async (client) => (await client.listTools()).tools.map((t) => t.name));
    expect(names).toContain('test_echo');
    expect(pool.stats()).toMatchObject({ created: 1, idle: 1, inUse: 0 });
    const lease = await pool.acquire(key);
    expect(pool.stats()).toMatchObject({ reused: 1, idle: 0, inUse: 1 });
    lease.release({ discard: true });
    lease.release(); // a second release is ignored
    expect(pool.stats()).toMatchObject({ discarded: 1, open: 0 });
  });

  it('lets a waiting acquisition be cancelled', async () => {
    const pool = track(poolFor(replica.url, echoer(), { maxPerKey: 1 }));
    const held = await pool.acquire(key);
    const controller = new AbortController();
    const waiting = pool.acquire(key, { signal: controller.signal });
    expect(pool.stats().waiting).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ kind: 'cancelled', code: 'CANCELLED' });
    expect(pool.stats().waiting).toBe(0);
    held.release();
    const next = await pool.acquire(key);
    expect(next.client).toBe(held.client);
    next.release();
  });

  it('gives up connecting after connectTimeoutMs as transient', async () => {
    // A peer that accepts connections and never answers.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const pool = track(poolFor(url, echoer(), { endpoint: { connectTimeoutMs: 100 } }));
    await expect(callTool({ pool, key, tool: 'test_echo', arguments: { message: 'x' } })).rejects.toMatchObject({
      kind: 'transient',
      code: 'UPSTREAM_UNAVAILABLE',
      message: expect.stringContaining('longer than 100 ms'),
    });
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('closes every client on close() and refuses further acquisitions', async () => {
    const pool = poolFor(replica.url, echoer());
    const held = await pool.acquire(key);
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'x' } });
    expect(pool.stats()).toMatchObject({ open: 2 });
    await pool.close();
    expect(pool.stats()).toMatchObject({ open: 0 });
    held.release();
    await expect(pool.acquire(key)).rejects.toMatchObject({ kind: 'transient', code: 'UPSTREAM_UNAVAILABLE' });
  });
});

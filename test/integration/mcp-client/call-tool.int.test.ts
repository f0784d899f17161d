import type { McpClientPool } from '@mcp-broker/mcp-client';
import { callTool, McpCallError } from '@mcp-broker/mcp-client';
import { poolFor, type TransportName } from '@mcp-broker/mcp-client/test-support/pool-for.ts';
import { scriptedTokenProvider } from '@mcp-broker/mcp-client/test-support/scripted-token-provider.ts';
import { closedPortUrl, startTcpProxy } from '@mcp-broker/mcp-client/test-support/tcp-proxy.ts';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Harness,
  type Replica,
  startHarness,
} from '../../../services/mcp-server/test-support/mcp-test-harness.ts';
import { waits } from '../../../services/mcp-server/test-support/test-tools.ts';
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

/** A pool for `url`, closed after the file's tests. */
function track(pool: McpClientPool): McpClientPool {
  pools.push(pool);
  return pool;
}

async function failure(work: Promise<unknown>): Promise<McpCallError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpCallError);
  return err as McpCallError;
}

const echoer = () => scriptedTokenProvider(() => h.token(['Test.Echo']));

describe.each<TransportName>(['streamable-http', 'sse'])('callTool over %s', (transport) => {
  it('reuses one pooled client across 10 calls', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    for (let i = 0; i < 10; i++) {
      const { result, durationMs, attempts } = await callTool({
        pool,
        key,
        tool: 'test_echo',
        arguments: { message: `m${i}` },
      });
      expect(result.structuredContent).toEqual({ echoed: `m${i}`, subject: 'app-1' });
      expect(durationMs).toBeGreaterThan(0);
      expect(attempts).toBe(1);
    }
    expect(pool.stats()).toMatchObject({ created: 1, reused: 9, open: 1, idle: 1, inUse: 0, discarded: 0 });
  });

  it('delivers every progress notification, in order, before the result', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    for (let round = 0; round < 3; round++) {
      const seen: Progress[] = [];
      const { result } = await callTool({
        pool,
        key,
        tool: 'test_progress',
        arguments: { steps: 5 },
        onProgress: (p) => seen.push(p),
      });
      expect(result.structuredContent).toEqual({ steps: 5 });
      expect(seen).toEqual([1, 2, 3, 4, 5].map((i) => ({ progress: i, total: 5, message: `step ${i}` })));
    }
  });

  it('returns a tool failure as an isError result, not an exception', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const { result } = await callTool({ pool, key, tool: 'test_fail', arguments: {} });
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: 'The test tool failed on purpose.' }]);
  });

  it('fails permanently with INVALID_ARGUMENTS naming the fields, keeping the client', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const err = await failure(callTool({ pool, key, tool: 'test_echo', arguments: { message: '', times: 9 } }));
    expect(err).toMatchObject({ kind: 'permanent', code: 'INVALID_ARGUMENTS', rpcCode: -32602 });
    expect(err.details).toMatchObject({ code: 'BROKER_INVALID_ARGUMENTS', tool: 'test_echo' });
    expect(((err.details?.fields ?? []) as { field: string }[]).map((f) => f.field).sort()).toEqual([
      'message',
      'times',
    ]);
    expect(err.message).toMatch(/tool "test_echo" on endpoint "local" for caller "caller-1": .*message: .*times: /);
    expect(err.retryable).toBe(false);
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'ok' } });
    expect(pool.stats()).toMatchObject({ created: 1, discarded: 0 });
  });

  it('fails permanently with TOOL_NOT_FOUND for an unknown tool', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const err = await failure(callTool({ pool, key, tool: 'no_such_tool', arguments: {} }));
    expect(err).toMatchObject({ kind: 'permanent', code: 'TOOL_NOT_FOUND', rpcCode: -32602 });
  });

  it('fails permanently with TOOL_FORBIDDEN naming the missing permission', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const err = await failure(callTool({ pool, key, tool: 'test_admin', arguments: {} }));
    expect(err).toMatchObject({
      kind: 'permanent',
      code: 'TOOL_FORBIDDEN',
      rpcCode: -32003,
      details: { missingPermissions: ['Test.Admin'] },
    });
    expect(err.message).toContain('"Test.Admin"');
  });

  it('fails transiently with UPSTREAM_ERROR when the tool crashes (-32603), carrying the request id', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const err = await failure(callTool({ pool, key, tool: 'test_crash', arguments: {} }));
    expect(err).toMatchObject({ kind: 'transient', code: 'UPSTREAM_ERROR', rpcCode: -32603 });
    expect(err.details?.requestId).toEqual(expect.any(String));
    expect(err.message).not.toContain('AccountKey');
  });

  it('fails transiently with TOOL_TIMEOUT when the server times the tool out (-32001)', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const err = await failure(callTool({ pool, key, tool: 'test_hang', arguments: {} }));
    expect(err).toMatchObject({ kind: 'transient', code: 'TOOL_TIMEOUT', rpcCode: -32001 });
    expect(err.details).toMatchObject({ code: 'BROKER_TOOL_TIMEOUT' });
  });

  it('fails transiently with TOOL_TIMEOUT when its own budget runs out, and cancels the tool upstream', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const aborted = waits.aborted;
    const err = await failure(callTool({ pool, key, tool: 'test_wait', arguments: {}, timeoutMs: 200 }));
    expect(err).toMatchObject({ kind: 'transient', code: 'TOOL_TIMEOUT', rpcCode: -32001 });
    await vi.waitFor(() => expect(waits.aborted).toBeGreaterThan(aborted), eventually);
  });

  it('fails as cancelled when the signal aborts, and the server stops the tool', async () => {
    const pool = track(poolFor(replica.url, echoer(), { transport }));
    const { started, aborted } = waits;
    const controller = new AbortController();
    const call = callTool({ pool, key, tool: 'test_wait', arguments: {}, signal: controller.signal });
    await vi.waitFor(() => expect(waits.started).toBeGreaterThan(started), eventually);
    controller.abort();
    const err = await failure(call);
    expect(err).toMatchObject({ kind: 'cancelled', code: 'CANCELLED' });
    await vi.waitFor(() => expect(waits.aborted).toBeGreaterThan(aborted), eventually);
    // The cancelled call's client is discarded (closing it is what tells a stateless server to stop);
    // the next call gets a fresh one.
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'after' } });
    expect(pool.stats()).toMatchObject({ created: 2, discarded: 1 });
  });

  it('refreshes a refused (expired) token once and succeeds on a new client', async () => {
    const now = Math.floor(Date.now() / 1000);
    let refreshed = false;
    const tokens = scriptedTokenProvider((options) => {
      if (options.forceRefresh) refreshed = true;
      return refreshed ? h.token(['Test.Echo']) : h.token(['Test.Echo'], { iat: now - 7200, exp: now - 3600 });
    });
    const pool = track(poolFor(replica.url, tokens, { transport }));
    const { result, attempts } = await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'renewed' } });
    expect(result.structuredContent).toMatchObject({ echoed: 'renewed' });
    expect(attempts).toBe(2);
    expect(tokens.calls.filter((c) => c.forceRefresh)).toHaveLength(1);
  });

  it('gives up as permanent UPSTREAM_UNAUTHORIZED when the refreshed token is refused too', async () => {
    const tokens = scriptedTokenProvider(() => h.token(['Test.Echo'], { aud: 'api://someone-else' }));
    const pool = track(poolFor(replica.url, tokens, { transport }));
    const err = await failure(callTool({ pool, key, tool: 'test_echo', arguments: { message: 'x' } }));
    expect(err).toMatchObject({ kind: 'permanent', code: 'UPSTREAM_UNAUTHORIZED', httpStatus: 401 });
    expect(err.message).toMatch(/refused the caller's token again after a refresh/);
    expect(tokens.calls.filter((c) => c.forceRefresh)).toHaveLength(1);
  });

  it("fails with the token provider's own error when no token can be obtained", async () => {
    const refused = new McpCallError(
      'permanent',
      'UPSTREAM_AUTH_FAILED',
      'Token endpoint refused client "x" (HTTP 401): invalid_client',
    );
    const pool = track(
      poolFor(
        replica.url,
        scriptedTokenProvider(() => Promise.reject(refused)),
        { transport },
      ),
    );
    const err = await failure(callTool({ pool, key, tool: 'test_echo', arguments: { message: 'x' } }));
    expect(err).toBe(refused);
  });

  it('is rate limited with retryAfterMs when the server answers 429', async () => {
    const limited = await h.startReplica({
      rateLimit: {
        perIdentity: { points: 1000, windowSeconds: 60 },
        perTool: { test_echo: { points: 1, windowSeconds: 60 } },
      },
    });
    const tokens = scriptedTokenProvider(() => h.token(['Test.Echo'], { sub: `rate-limited-${transport}` }));
    const pool = track(poolFor(limited.url, tokens, { transport }));
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'first' } });
    const err = await failure(callTool({ pool, key, tool: 'test_echo', arguments: { message: 'second' } }));
    expect(err).toMatchObject({
      kind: 'rate_limited',
      code: 'UPSTREAM_RATE_LIMITED',
      httpStatus: 429,
      rpcCode: -32029,
    });
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(err.retryable).toBe(true);
    await limited.close();
  });

  it('fails transiently with UPSTREAM_UNAVAILABLE when the server is down', async () => {
    const pool = track(poolFor(await closedPortUrl(), echoer(), { transport }));
    const err = await failure(callTool({ pool, key, tool: 'test_echo', arguments: { message: 'x' } }));
    expect(err).toMatchObject({ kind: 'transient', code: 'UPSTREAM_UNAVAILABLE' });
    expect(pool.stats()).toMatchObject({ created: 0, open: 0 });
  });
});

describe('callTool when the connection breaks', () => {
  it('fails a call cut mid-stream as transient at once and replaces the client (streamable HTTP)', async () => {
    const proxy = await startTcpProxy(replica.url);
    const pool = track(poolFor(proxy.url, echoer()));
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'before' } });
    const { started } = waits;
    const call = callTool({ pool, key, tool: 'test_wait', arguments: {} });
    await vi.waitFor(() => expect(waits.started).toBeGreaterThan(started), eventually);
    proxy.dropConnections();
    const err = await failure(call);
    expect(err).toMatchObject({ kind: 'transient', code: 'UPSTREAM_UNAVAILABLE' });
    const { result } = await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'after' } });
    expect(result.structuredContent).toMatchObject({ echoed: 'after' });
    expect(pool.stats()).toMatchObject({ created: 2, discarded: 1, open: 1 });
    await proxy.close();
  });

  it('replaces a legacy SSE client whose replica restarted behind the same URL', async () => {
    const first = await h.startReplica();
    const proxy = await startTcpProxy(first.url);
    const pool = track(poolFor(proxy.url, echoer(), { transport: 'sse' }));
    await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'before' } });
    expect(pool.stats()).toMatchObject({ created: 1, open: 1 });

    const second = await h.startReplica();
    proxy.setTarget(second.url);
    await first.close();
    proxy.dropConnections();
    // The SSE stream's end marks the idle client broken; it is closed without waiting for a call.
    await vi.waitFor(() => expect(pool.stats()).toMatchObject({ open: 0, discarded: 1 }), eventually);

    const { result } = await callTool({ pool, key, tool: 'test_echo', arguments: { message: 'after' } });
    expect(result.structuredContent).toMatchObject({ echoed: 'after' });
    expect(pool.stats()).toMatchObject({ created: 2, open: 1 });
    await proxy.close();
    await second.close();
  });
});

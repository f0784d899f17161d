import type { McpClientPool } from '@mcp-broker/mcp-client';
import { ToolCatalog } from '@mcp-broker/mcp-client';
import { poolFor } from '@mcp-broker/mcp-client/test-support/pool-for.ts';
import { scriptedTokenProvider } from '@mcp-broker/mcp-client/test-support/scripted-token-provider.ts';
import { closedPortUrl, startTcpProxy } from '@mcp-broker/mcp-client/test-support/tcp-proxy.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

beforeAll(async () => {
  h = await startHarness({ tools: clientTestTools });
  replica = await h.startReplica();
});
afterAll(async () => {
  await Promise.allSettled(pools.map((p) => p.close()));
  await h.close();
});

/** A catalog over a pool whose fetch counts `tools/list` requests; the clock is the test's. */
function catalogFor(baseUrl = replica.url, roles = ['Test.Echo']) {
  let listRequests = 0;
  const clock = { now: 1_000_000 };
  const pool = poolFor(
    baseUrl,
    scriptedTokenProvider(() => h.token(roles)),
    {
      fetch: (url, init) => {
        if (typeof init?.body === 'string' && JSON.parse(init.body).method === 'tools/list') listRequests += 1;
        return fetch(url, init);
      },
    },
  );
  pools.push(pool);
  const catalog = new ToolCatalog({ pool, ttlMs: 60_000, now: () => clock.now });
  return { catalog, clock, listRequests: () => listRequests };
}

const validOrder = {
  customer: { email: 'buyer@example.com', tier: 'gold' },
  lines: [{ sku: 'SKU-1', quantity: 2 }],
};

describe('ToolCatalog', () => {
  it('lists the tools this caller may use and caches the listing for ttlMs', async () => {
    const { catalog, clock, listRequests } = catalogFor();
    const names = (await catalog.list(key)).map((t) => t.name);
    expect(names).toContain('test_order');
    expect(names).not.toContain('test_admin');
    await catalog.find(key, 'test_echo');
    await catalog.validateArguments(key, 'test_echo', { message: 'x' });
    expect(listRequests()).toBe(1);
    clock.now += 59_999;
    await catalog.list(key);
    expect(listRequests()).toBe(1);
    clock.now += 1;
    await catalog.list(key);
    expect(listRequests()).toBe(2);
    await catalog.list(key, { refresh: true });
    expect(listRequests()).toBe(3);
    catalog.invalidate(key);
    await catalog.list(key);
    expect(listRequests()).toBe(4);
  });

  it('shares one tools/list among concurrent lookups', async () => {
    const { catalog, listRequests } = catalogFor();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => catalog.validateArguments(key, 'test_order', validOrder)),
    );
    expect(results).toEqual(Array.from({ length: 10 }, () => []));
    expect(listRequests()).toBe(1);
  });

  it('names every failing field, the way the server names them', async () => {
    const { catalog } = catalogFor();
    const problems = await catalog.validateArguments(key, 'test_order', {
      customer: { email: 'not-an-email', tier: 'bronze' },
      lines: [{ sku: 'X-1', quantity: 0 }, { sku: 'SKU-2' }],
      note: 'a'.repeat(21),
    });
    expect(problems).toEqual([
      { field: 'customer.email', problem: 'must match format "email"' },
      { field: 'customer.tier', problem: 'must be one of "gold", "silver"' },
      { field: 'lines.0.sku', problem: 'must match pattern "^SKU-\\d+$"' },
      { field: 'lines.0.quantity', problem: 'must be >= 1' },
      { field: 'lines.1.quantity', problem: 'is required' },
      { field: 'note', problem: 'must NOT have more than 20 characters' },
    ]);
  });

  it('reports missing and mistyped top-level arguments', async () => {
    const { catalog } = catalogFor();
    expect(await catalog.validateArguments(key, 'test_echo', { times: 'twice' })).toEqual([
      { field: 'message', problem: 'is required' },
      { field: 'times', problem: 'must be integer' },
    ]);
    expect(await catalog.validateArguments(key, 'test_echo', ['not', 'an', 'object'])).toEqual([
      { field: '(arguments)', problem: 'must be an object' },
    ]);
  });

  it('refuses a tool the caller may not use as an unknown tool, listing the available ones', async () => {
    const { catalog } = catalogFor();
    const [problem, ...rest] = await catalog.validateArguments(key, 'test_admin', {});
    expect(rest).toEqual([]);
    expect(problem?.field).toBe('tool');
    expect(problem?.problem).toMatch(
      /^unknown tool "test_admin" for caller "caller-1" on endpoint "local"; available: .*test_echo/,
    );
    const admin = catalogFor(replica.url, ['Test.Echo', 'Test.Admin']).catalog;
    expect(await admin.validateArguments(key, 'test_admin', {})).toEqual([]);
  });

  it('keeps serving the last listing when a refresh fails transiently, and fails without one', async () => {
    const proxy = await startTcpProxy(replica.url);
    const { catalog, clock } = catalogFor(proxy.url);
    expect(await catalog.validateArguments(key, 'test_echo', { message: 'x' })).toEqual([]);
    proxy.setTarget(await closedPortUrl());
    proxy.dropConnections();
    clock.now += 120_000;
    expect(await catalog.validateArguments(key, 'test_echo', {})).toEqual([
      { field: 'message', problem: 'is required' },
    ]);
    catalog.invalidate();
    await expect(catalog.list(key)).rejects.toMatchObject({ kind: 'transient', code: 'UPSTREAM_UNAVAILABLE' });
    await proxy.close();
  });

  it('fails with the classified error when the caller cannot list tools', async () => {
    const { catalog } = catalogFor(replica.url, []);
    // An identity without roles still authenticates; it simply sees no tools.
    expect(await catalog.list(key)).toEqual([]);
    const down = catalogFor(await closedPortUrl()).catalog;
    await expect(down.validateArguments(key, 'test_echo', {})).rejects.toMatchObject({
      kind: 'transient',
      code: 'UPSTREAM_UNAVAILABLE',
    });
  });
});

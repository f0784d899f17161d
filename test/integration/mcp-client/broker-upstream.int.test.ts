import { createTokenVerifier } from '@mcp-broker/auth';
import { brokerConfigSchema } from '@mcp-broker/broker-config';
import { type DevOAuthServer, startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { type BrokerUpstream, callTool, createBrokerUpstream } from '@mcp-broker/mcp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Harness,
  RESOURCE,
  type Replica,
  startHarness,
} from '../../../services/mcp-server/test-support/mcp-test-harness.ts';
import { clientTestTools } from './client-test-tools.ts';

// End to end over real peers: client-credentials tokens from the dev OAuth server (oidc-provider),
// verified by a governed MCP server replica that trusts only that issuer.

const secrets = {
  ORDERS_AGENT_SECRET: 'orders-agent-secret-0123456789',
  ADMIN_AGENT_SECRET: 'admin-agent-secret-0123456789',
};
let h: Harness;
let oauth: DevOAuthServer;
let replica: Replica;
let upstream: BrokerUpstream;

beforeAll(async () => {
  h = await startHarness({ tools: clientTestTools });
  oauth = await startDevOAuthServer({
    audience: RESOURCE,
    clients: [
      { clientId: 'orders-agent', clientSecret: secrets.ORDERS_AGENT_SECRET, roles: ['Test.Echo'] },
      { clientId: 'admin-agent', clientSecret: secrets.ADMIN_AGENT_SECRET, roles: ['Test.Echo', 'Test.Admin'] },
    ],
  });
  replica = await h.startReplica({
    verifier: createTokenVerifier({ issuers: [{ issuer: oauth.issuer }], audience: RESOURCE }),
  });
  const caller = (id: string, clientId: string, secretVariable: string, scope: string) => ({
    id,
    auth: { type: 'jwt', issuer: 'https://login.example.test/tenant/v2.0', audience: 'broker', subjects: [id] },
    upstream: {
      endpoint: 'governed',
      credential: {
        type: 'client-credentials',
        tokenUrl: oauth.tokenEndpoint,
        clientId,
        clientSecret: { fromEnv: secretVariable },
        scope,
      },
    },
    tools: ['*'],
  });
  const config = brokerConfigSchema.parse({
    endpoints: { governed: { url: `${replica.url}/mcp` } },
    callers: [
      caller('orders', 'orders-agent', 'ORDERS_AGENT_SECRET', 'Test.Echo'),
      caller('admin', 'admin-agent', 'ADMIN_AGENT_SECRET', 'Test.Echo Test.Admin'),
    ],
  });
  upstream = createBrokerUpstream(config, { env: secrets });
});
afterAll(async () => {
  await upstream.close();
  await h.close();
  await oauth.close();
});

describe('createBrokerUpstream', () => {
  it("calls tools with each caller's own client-credentials identity", async () => {
    const orders = { caller: 'orders', endpoint: 'governed' };
    const admin = { caller: 'admin', endpoint: 'governed' };
    const echoed = await callTool({
      pool: upstream.pool,
      key: orders,
      tool: 'test_echo',
      arguments: { message: 'hi' },
    });
    expect(echoed.result.structuredContent).toEqual({ echoed: 'hi', subject: 'orders-agent' });
    await expect(
      callTool({ pool: upstream.pool, key: orders, tool: 'test_admin', arguments: {} }),
    ).rejects.toMatchObject({ kind: 'permanent', code: 'TOOL_FORBIDDEN' });
    const allowed = await callTool({ pool: upstream.pool, key: admin, tool: 'test_admin', arguments: {} });
    expect(allowed.result.structuredContent).toEqual({ ok: true });
    expect(upstream.pool.stats()).toMatchObject({ created: 2, reused: 1 });
  });

  it("validates arguments against the tools each caller's identity may see", async () => {
    const orders = { caller: 'orders', endpoint: 'governed' };
    const admin = { caller: 'admin', endpoint: 'governed' };
    expect(await upstream.catalog.validateArguments(orders, 'test_admin', {})).toEqual([
      { field: 'tool', problem: expect.stringMatching(/^unknown tool "test_admin" for caller "orders"/) },
    ]);
    expect(await upstream.catalog.validateArguments(admin, 'test_admin', {})).toEqual([]);
    expect(await upstream.catalog.validateArguments(orders, 'test_echo', { message: '' })).toEqual([
      { field: 'message', problem: 'must NOT have fewer than 1 characters' },
    ]);
  });
});

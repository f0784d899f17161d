import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devConfigSchema } from '@mcp-broker/dev/config';
import { readDemoPassword, runDemoCall } from '@mcp-broker/dev/demo-call';
import { freePort } from '@mcp-broker/dev/free-port';
import { runSalesforceDemo } from '@mcp-broker/dev/salesforce-demo';
import { type DevStack, startDevStack } from '@mcp-broker/dev/start-dev';
import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let stack: DevStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mcpb-dev-'));
  const env = {
    // The MCP server's port must be known before it listens: its document links carry it.
    PORT: String(await freePort()),
    DEV_OAUTH_PORT: '0',
    DEV_INGRESS_PORT: '0',
    DEV_SALESFORCE_PORT: '0',
    SAMPLE_CUSTOMERS: '30',
    DEV_DATA_DIR: dataDir,
    REDIS_KEY_PREFIX: `e2e:${randomUUID()}:`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
  stack = await startDevStack(
    loadConfig(devConfigSchema, env),
    loadConfig(mcpServerConfigSchema, env),
    createLogger({ name: 'e2e', level: 'silent' }),
  );
});
afterAll(async () => {
  await stack?.close();
});

async function tokenFor(clientId: string): Promise<string> {
  const { secrets } = JSON.parse(await readFile(stack.credentialsPath, 'utf8')) as { secrets: Record<string, string> };
  const res = await fetch(stack.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secrets[clientId]!,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('dev stack on embedded defaults (the quick start)', () => {
  it('keeps dev client secrets in an owner-only file', async () => {
    expect((await stat(stack.credentialsPath)).mode & 0o777).toBe(0o600);
  });

  it('a dev client token from oidc-provider calls a product tool over seeded data with the SDK client', async () => {
    const token = await tokenFor('demo-app');
    const client = new Client({ name: 'e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${stack.mcpUrl}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['query_customer_data', 'analyze_sales_data']));
    const result = await client.callTool({ name: 'query_customer_data', arguments: { customer_id: 'cus-000001' } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ customer: { id: 'cus-000001' } });
    await client.close();
  });

  it('the main job: a tool call submitted through the broker comes back with its result', async () => {
    const { submitStatus, call } = await runDemoCall({
      ingressUrl: stack.ingressUrl,
      password: await readDemoPassword(stack.credentialsPath),
      tool: 'query_customer_data',
      arguments: { customer_id: 'cus-000002' },
    });
    expect(submitStatus).toBe(202);
    expect(call).toMatchObject({
      status: 'succeeded',
      result: { structuredContent: { customer: { id: 'cus-000002' } } },
    });
  });

  it('the read-only dev client sees only the tools its roles allow and is refused the others', async () => {
    const token = await tokenFor('readonly-app');
    const post = (body: unknown) =>
      fetch(`${stack.mcpUrl}/message`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const list = (await (await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).json()) as {
      result: { tools: Array<{ name: string }> };
    };
    expect(list.result.tools.map((t) => t.name).sort()).toEqual(['next_best_action', 'query_customer_data']);
    const denied = await post({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'analyze_sales_data', arguments: { from: '2026-01-01', to: '2026-03-31' } },
    });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toContain('scope="Sales.Read"');
  });

  it('npm run demo’s Salesforce stories: Contract_URL__c written back from the Flow’s event, MCP_Result__c from the API call', async () => {
    const lines: string[] = [];
    const steps = await runSalesforceDemo({
      salesforce: stack.salesforce,
      sampleOpportunity: stack.sampleOpportunity,
      ingressUrl: stack.ingressUrl,
      password: await readDemoPassword(stack.credentialsPath),
      print: (line) => lines.push(line),
      timeoutMs: 20_000,
    });
    expect(steps.filter((s) => !s.ok)).toEqual([]);
    expect(steps.length).toBeGreaterThanOrEqual(8);
    const opportunity = stack.salesforce.records('Opportunity').at(-1);
    expect(opportunity).toMatchObject({
      StageName: 'Closed Won',
      Contract_URL__c: expect.stringContaining('/documents/ctr-'),
    });
    expect(lines.join('\n')).toContain(`Contract_URL__c ${opportunity?.Contract_URL__c}`);
  });
});

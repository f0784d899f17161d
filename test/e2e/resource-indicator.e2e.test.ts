import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devConfigSchema } from '@mcp-broker/dev/config';
import { freePort } from '@mcp-broker/dev/free-port';
import { type DevStack, startDevStack } from '@mcp-broker/dev/start-dev';
import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A client that follows the MCP authorization spec: it reads the server's RFC 9728 metadata, asks
 * the authorization server it names for a token with `resource` = the metadata's `resource`
 * (RFC 8707), and calls the server with it. On the dev stack that must work end to end.
 */
let stack: DevStack;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mcpb-resource-'));
  const env = {
    PORT: String(await freePort()),
    DEV_OAUTH_PORT: '0',
    DEV_INGRESS_PORT: '0',
    DEV_SALESFORCE_PORT: '0',
    SAMPLE_CUSTOMERS: '5',
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

describe('a spec-following client on the dev stack', () => {
  it.each(['', '/mcp'])('gets a token for the resource named at metadata%s and the server accepts it', async (path) => {
    const metadata = (await (await fetch(`${stack.mcpUrl}/.well-known/oauth-protected-resource${path}`)).json()) as {
      resource: string;
      authorization_servers: string[];
    };
    expect(metadata.authorization_servers).toContain(stack.oauthIssuer);
    const discovery = (await (
      await fetch(`${metadata.authorization_servers[0]}/.well-known/openid-configuration`)
    ).json()) as { token_endpoint: string };

    const { secrets } = JSON.parse(await readFile(stack.credentialsPath, 'utf8')) as {
      secrets: Record<string, string>;
    };
    const tokenResponse = await fetch(discovery.token_endpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'demo-app',
        client_secret: secrets['demo-app']!,
        resource: metadata.resource,
      }),
    });
    const body = (await tokenResponse.json()) as { access_token?: string; error?: string };
    expect(body.error).toBeUndefined();
    expect(tokenResponse.status).toBe(200);

    const client = new Client({ name: 'spec-client', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${stack.mcpUrl}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${body.access_token}` } },
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    await client.close();
  });
});

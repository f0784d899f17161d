import { startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { type McpServerConfig, productTools, startMcpServer } from '@mcp-broker/mcp-server';
import type { Logger } from '@mcp-broker/runtime';
import { generateSampleData, loadSampleData } from '@mcp-broker/sample-data';
import { createStore } from '@mcp-broker/store';
import type { DevConfig } from './config.ts';
import { loadOrCreateDevCredentials } from './dev-credentials.ts';

export interface DevStack {
  mcpUrl: string;
  oauthIssuer: string;
  tokenEndpoint: string;
  credentialsPath: string;
  close(): Promise<void>;
}

/**
 * Everything on embedded defaults in one process: the Cosmos-compatible store seeded with sample
 * data, a development OAuth server, and the governed MCP server trusting it.
 */
export async function startDevStack(dev: DevConfig, mcp: McpServerConfig, logger: Logger): Promise<DevStack> {
  const allRoles = [...new Set(productTools.flatMap((t) => t.requiredPermissions))].sort();
  const credentials = await loadOrCreateDevCredentials(dev.DEV_DATA_DIR, [
    { clientId: 'demo-app', roles: allRoles },
    { clientId: 'readonly-app', roles: ['Customers.Read'] },
  ]);

  const store = await createStore({
    endpoint: mcp.COSMOS_ENDPOINT,
    key: mcp.COSMOS_KEY,
    databaseId: mcp.COSMOS_DATABASE,
  });
  const data = generateSampleData({ seed: dev.SAMPLE_SEED, customers: dev.SAMPLE_CUSTOMERS });
  const started = performance.now();
  const counts = await loadSampleData(store, data);
  logger.info({ counts, ms: Math.round(performance.now() - started) }, 'sample data loaded');

  const oauth = await startDevOAuthServer({
    port: dev.DEV_OAUTH_PORT,
    audience: mcp.MCP_RESOURCE,
    clients: credentials.clients,
  });
  const server = await startMcpServer(mcp, logger, { store, issuers: [{ issuer: oauth.issuer }] });
  return {
    mcpUrl: server.url,
    oauthIssuer: oauth.issuer,
    tokenEndpoint: oauth.tokenEndpoint,
    credentialsPath: credentials.path,
    async close() {
      await server.close();
      await oauth.close();
      await store.close();
    },
  };
}

/** What to type next: how to get a token and call a tool, with the secret read from its file. */
export function startBanner(stack: DevStack): string {
  const secret = `$(node -p "require('./${stack.credentialsPath}').secrets['demo-app']")`;
  return [
    '',
    'mcp-broker dev stack is running',
    `  MCP server      ${stack.mcpUrl}  (/mcp streamable HTTP, /sse legacy SSE, POST /message plain JSON-RPC)`,
    `  OAuth server    ${stack.oauthIssuer}  (client credentials; clients demo-app, readonly-app)`,
    `  Credentials     ${stack.credentialsPath}  (git-ignored, mode 600)`,
    '',
    'Get a token:',
    `  TOKEN=$(curl -s ${stack.tokenEndpoint} -d grant_type=client_credentials -d client_id=demo-app \\`,
    `    -d "client_secret=${secret}" | node -p "JSON.parse(require('fs').readFileSync(0)).access_token")`,
    '',
    'Call a tool:',
    `  curl -s ${stack.mcpUrl}/message -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query_customer_data","arguments":{"customer_id":"cus-000001"}}}'`,
    '',
    'List the tools:',
    `  curl -s ${stack.mcpUrl}/message -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
    `    -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'`,
    '',
    'Stop with Ctrl+C.',
    '',
  ].join('\n');
}

import { startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { ingressConfigSchema, startIngress } from '@mcp-broker/ingress';
import { type McpServerConfig, serverToolPermissions, startMcpServer } from '@mcp-broker/mcp-server';
import { type Logger, loadConfig } from '@mcp-broker/runtime';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { generateSampleData, loadSampleData } from '@mcp-broker/sample-data';
import { createStore, storeOptionsFromEnv } from '@mcp-broker/store';
import type { ServiceTelemetry } from '@mcp-broker/telemetry';
import { startWorker, workerConfigSchema } from '@mcp-broker/worker';
import type { DevConfig } from './config.ts';
import {
  DEV_CALLBACK_SECRET_ENV,
  DEV_SALESFORCE_SECRET_ENV,
  DEV_UPSTREAM_SECRET_ENV,
  devBrokerConfig,
} from './dev-broker-config.ts';
import { loadOrCreateDevCredentials } from './dev-credentials.ts';

export interface DevStack {
  mcpUrl: string;
  ingressUrl: string;
  oauthIssuer: string;
  tokenEndpoint: string;
  credentialsPath: string;
  /** The local stand-in org, connected as `demo-org`. */
  salesforce: SalesforceSandbox;
  /** A won opportunity of the seeded sample data (the demo's Salesforce Opportunity stands for it). */
  sampleOpportunity: { id: string; customerId: string; amount: number };
  close(): Promise<void>;
}

/**
 * Everything on embedded defaults in one process: the Cosmos-compatible store seeded with sample
 * data, a development OAuth server, and the governed MCP server trusting it.
 */
export async function startDevStack(
  dev: DevConfig,
  mcp: McpServerConfig,
  logger: Logger,
  /** From startTelemetry: one SDK for the whole stack, handed to each service as its main.ts does. */
  telemetry?: ServiceTelemetry,
): Promise<DevStack> {
  const traced = telemetry ? { telemetry } : {};
  const allRoles = [...serverToolPermissions];
  const credentials = await loadOrCreateDevCredentials(dev.DEV_DATA_DIR, [
    { clientId: 'demo-app', roles: allRoles },
    { clientId: 'readonly-app', roles: ['Customers.Read'] },
    // The broker's upstream identity for the demo caller; and the demo caller's Basic password.
    { clientId: 'broker-demo', roles: allRoles },
    { clientId: 'demo-caller-password', roles: [] },
    { clientId: 'demo-callback-secret', roles: [] },
    { clientId: 'salesforce-sandbox-secret', roles: [] },
  ]);
  const secretOf = (id: string) => credentials.clients.find((c) => c.clientId === id)?.clientSecret ?? '';

  const store = await createStore(storeOptionsFromEnv(mcp));
  const data = generateSampleData({ seed: dev.SAMPLE_SEED, customers: dev.SAMPLE_CUSTOMERS });
  const started = performance.now();
  const counts = await loadSampleData(store, data);
  logger.info({ counts, ms: Math.round(performance.now() - started) }, 'sample data loaded');

  const oauth = await startDevOAuthServer({
    port: dev.DEV_OAUTH_PORT,
    audience: mcp.MCP_RESOURCE,
    // Two entries are not OAuth clients, only secrets kept in the same file.
    clients: credentials.clients.filter(
      (c) => !['demo-caller-password', 'demo-callback-secret', 'salesforce-sandbox-secret'].includes(c.clientId),
    ),
  });
  const server = await startMcpServer(mcp, logger, { store, issuers: [{ issuer: oauth.issuer }], ...traced });
  // A client that follows the server's RFC 9728 metadata asks for a token with `resource` set to it.
  for (const resource of server.server.resourceIndicators) oauth.acceptResource(resource);
  const salesforce = await startSalesforceSandbox({
    host: mcp.HOST,
    port: dev.DEV_SALESFORCE_PORT,
    clientSecret: secretOf('salesforce-sandbox-secret'),
  });

  const broker = await devBrokerConfig({
    mcpUrl: server.url,
    tokenEndpoint: oauth.tokenEndpoint,
    upstreamClientId: 'broker-demo',
    demoPassword: secretOf('demo-caller-password'),
    keyPrefix: mcp.REDIS_KEY_PREFIX,
    salesforce: { loginUrl: salesforce.loginUrl, clientId: salesforce.clientId, apiVersion: salesforce.apiVersion },
  });
  const env = {
    [DEV_UPSTREAM_SECRET_ENV]: secretOf('broker-demo'),
    [DEV_CALLBACK_SECRET_ENV]: secretOf('demo-callback-secret'),
    [DEV_SALESFORCE_SECRET_ENV]: secretOf('salesforce-sandbox-secret'),
  };
  const common = {
    BROKER_CONFIG: '(dev launcher)',
    REDIS_URL: mcp.REDIS_URL,
    LOG_LEVEL: mcp.LOG_LEVEL,
  };
  const ingress = await startIngress(
    loadConfig(ingressConfigSchema, {
      ...common,
      HOST: mcp.HOST,
      PORT: String(dev.DEV_INGRESS_PORT),
    }),
    broker,
    logger,
    { store, env, ...traced },
  );
  const worker = await startWorker(loadConfig(workerConfigSchema, common), broker, logger, { store, env, ...traced });
  return {
    ingressUrl: ingress.url,
    mcpUrl: server.url,
    oauthIssuer: oauth.issuer,
    tokenEndpoint: oauth.tokenEndpoint,
    credentialsPath: credentials.path,
    salesforce,
    sampleOpportunity: wonOpportunity(data.opportunities),
    async close() {
      await worker.close();
      await ingress.close();
      await salesforce.close();
      await server.close();
      await oauth.close();
      await store.close();
    },
  };
}

function wonOpportunity(
  opportunities: ReadonlyArray<{ id: string; customerId: string; stage: string; amount: number }>,
) {
  const won = opportunities.find((o) => o.stage === 'closed_won') ?? opportunities[0];
  if (!won) throw new Error('The sample data has no opportunities; raise SAMPLE_CUSTOMERS.');
  return { id: won.id, customerId: won.customerId, amount: won.amount };
}

/** What to type next: how to get a token and call a tool, with the secret read from its file. */
export function startBanner(stack: DevStack): string {
  const secretOf = (id: string) => `$(node -p "require('./${stack.credentialsPath}').secrets['${id}']")`;
  const secret = secretOf('demo-app');
  const sf = stack.salesforce.instanceUrl;
  return [
    '',
    'mcp-broker dev stack is running',
    `  Broker API      ${stack.ingressUrl}  (async tool calls: POST /v1/tool-calls; OpenAPI at /openapi.json)`,
    `  MCP server      ${stack.mcpUrl}  (/mcp streamable HTTP, /sse legacy SSE, POST /message plain JSON-RPC)`,
    `  OAuth server    ${stack.oauthIssuer}  (client credentials; clients demo-app, readonly-app)`,
    `  Salesforce      ${stack.salesforce.instanceUrl}  (sandbox org "demo-org": REST, Streaming; MCP_Tool_Request__e → tool calls)`,
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
    'Submit an asynchronous tool call through the broker (caller "demo", HTTP Basic), then read it:',
    `  PASS=${secretOf('demo-caller-password')}`,
    `  curl -s -u "demo:$PASS" ${stack.ingressUrl}/v1/tool-calls -H "Idempotency-Key: $(node -p 'crypto.randomUUID()')" \\`,
    `    -H 'Content-Type: application/json' -d '{"tool":"analyze_sales_data","arguments":{"from":"2026-01-01","to":"2026-03-31"}}'`,
    `  curl -s -u "demo:$PASS" "${stack.ingressUrl}/v1/tool-calls/<id>?wait=30"`,
    '',
    "Play a Flow's part: publish MCP_Tool_Request__e in the Salesforce sandbox; the broker runs it as org demo-org:",
    `  SF=$(curl -s ${sf}/services/oauth2/token -d grant_type=client_credentials -d client_id=${stack.salesforce.clientId} \\`,
    `    -d "client_secret=${secretOf('salesforce-sandbox-secret')}" | node -p "JSON.parse(require('fs').readFileSync(0)).access_token")`,
    `  curl -s ${sf}/services/data/v${stack.salesforce.apiVersion}/sobjects/MCP_Tool_Request__e -H "Authorization: Bearer $SF" \\`,
    `    -H 'Content-Type: application/json' -d '{"Tool__c":"next_best_action","Arguments__c":"{\\"customer_id\\":\\"cus-000002\\"}","Write_Back__c":"[{\\"type\\":\\"salesforce-result\\"}]"}'`,
    `  curl -s -u "demo:$PASS" "${stack.ingressUrl}/v1/tool-calls?limit=1"      # the event's call, newest first`,
    '',
  ].join('\n');
}

import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { startTelemetry, telemetryConfigSchema } from '@mcp-broker/telemetry';

// First, as in each service's main.ts: modules patched at load time are imported after it.
const telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, process.env), {
  serviceName: 'mcp-broker-demo',
});
const { mcpServerConfigSchema } = await import('@mcp-broker/mcp-server');
const { devConfigSchema } = await import('./config.ts');
const { runAzureDemo } = await import('./azure-demo.ts');
const { runBatchDemo } = await import('./batch-demo.ts');
const { runDatabricksDemo } = await import('./databricks-demo.ts');
const { runStartupDemoCall } = await import('./demo-call.ts');
const { readDemoPassword } = await import('./dev-credentials.ts');
const { freePort } = await import('./free-port.ts');
const { runSalesforceDemo } = await import('./salesforce-demo.ts');
const { startDevStack } = await import('./start-dev.ts');

// `npm run demo`: the whole broker on embedded defaults, the two Salesforce stories, then exit.
// Ports default to free ones, so it runs beside `npm start`. Exit 0 only if every step worked.
// The MCP server's port is chosen before it starts: its document links are built from it.
const env = {
  PORT: String(await freePort()),
  DEV_OAUTH_PORT: '0',
  DEV_INGRESS_PORT: '0',
  DEV_SALESFORCE_PORT: '0',
  ...process.env,
};
const dev = loadConfig(devConfigSchema, env);
const { DEFAULT_REDIS_URL, ensureLocalRedis } = await import('./local-redis.ts');
const redis = await ensureLocalRedis({ url: process.env.REDIS_URL || DEFAULT_REDIS_URL, dataDir: dev.DEV_DATA_DIR });
// Its own key prefix per run: a dev worker of `npm start` on the same Redis never takes the demo's jobs.
const mcp = loadConfig(mcpServerConfigSchema, {
  LOG_LEVEL: 'warn',
  REDIS_KEY_PREFIX: `mcpb-demo-${crypto.randomUUID().slice(0, 8)}:`,
  ...env,
  REDIS_URL: redis.url,
});
const logger = createLogger({ name: 'demo', level: mcp.LOG_LEVEL });
const print = (line: string) => process.stdout.write(`${line}\n`);

const stack = await startDevStack(dev, mcp, logger, telemetry);
let ok = false;
try {
  print(
    `mcp-broker demo: MCP server ${stack.mcpUrl}, broker API ${stack.ingressUrl}, Salesforce sandbox ${stack.salesforce.instanceUrl}\n`,
  );
  const password = await readDemoPassword(stack.credentialsPath);
  const { call, description } = await runStartupDemoCall(stack.ingressUrl, password);
  print(description);
  const steps = await runSalesforceDemo({
    salesforce: stack.salesforce,
    sampleOpportunity: stack.sampleOpportunity,
    ingressUrl: stack.ingressUrl,
    password,
    print,
  });
  steps.push(...(await runDatabricksDemo({ stack, redisUrl: mcp.REDIS_URL, print })));
  steps.push(...(await runAzureDemo({ stack, redisUrl: mcp.REDIS_URL, print })));
  steps.push(...(await runBatchDemo({ stack, redisUrl: mcp.REDIS_URL, print })));
  ok = call.status === 'succeeded' && steps.every((s) => s.ok);
  print(ok ? '\nDemo: every step worked.' : `\nDemo: ${steps.filter((s) => !s.ok).length} step(s) failed (✘ above).`);
} catch (err) {
  print(`\nDemo failed: ${(err as Error).message}`);
} finally {
  await stack.close();
  // Spans still buffered are sent before the process exits.
  await telemetry.shutdown();
}
await redis.close();
process.exit(ok ? 0 : 1);

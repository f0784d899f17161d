import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { devConfigSchema } from './config.ts';
import { runDatabricksDemo } from './databricks-demo.ts';
import { runStartupDemoCall } from './demo-call.ts';
import { readDemoPassword } from './dev-credentials.ts';
import { freePort } from './free-port.ts';
import { runSalesforceDemo } from './salesforce-demo.ts';
import { startDevStack } from './start-dev.ts';

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
const mcp = loadConfig(mcpServerConfigSchema, { LOG_LEVEL: 'warn', ...env });
const logger = createLogger({ name: 'demo', level: mcp.LOG_LEVEL });
const print = (line: string) => process.stdout.write(`${line}\n`);

const stack = await startDevStack(dev, mcp, logger);
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
  ok = call.status === 'succeeded' && steps.every((s) => s.ok);
  print(ok ? '\nDemo: every step worked.' : `\nDemo: ${steps.filter((s) => !s.ok).length} step(s) failed (✘ above).`);
} catch (err) {
  print(`\nDemo failed: ${(err as Error).message}`);
} finally {
  await stack.close();
}
process.exit(ok ? 0 : 1);

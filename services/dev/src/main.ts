import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { devConfigSchema } from './config.ts';
import { describeDemoCall, runDemoCall } from './demo-call.ts';
import { readDemoPassword } from './dev-credentials.ts';
import { startBanner, startDevStack } from './start-dev.ts';

const dev = loadConfig(devConfigSchema, process.env);
const mcp = loadConfig(mcpServerConfigSchema, process.env);
const logger = createLogger({ name: 'dev', level: mcp.LOG_LEVEL });
const stack = await startDevStack(dev, mcp, logger);
process.stdout.write(startBanner(stack));
if (dev.DEV_DEMO_CALL) {
  const password = await readDemoPassword(stack.credentialsPath);
  const { submitStatus, call } = await runDemoCall({
    ingressUrl: stack.ingressUrl,
    password,
    tool: 'query_customer_data',
    arguments: { customer_id: 'cus-000001' },
  });
  process.stdout.write(describeDemoCall(submitStatus, call));
}
installGracefulShutdown([() => stack.close()], { logger });

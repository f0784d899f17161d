import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { devConfigSchema } from './config.ts';
import { runStartupDemoCall } from './demo-call.ts';
import { readDemoPassword } from './dev-credentials.ts';
import { startBanner, startDevStack } from './start-dev.ts';

const dev = loadConfig(devConfigSchema, process.env);
const mcp = loadConfig(mcpServerConfigSchema, process.env);
const logger = createLogger({ name: 'dev', level: mcp.LOG_LEVEL });
const stack = await startDevStack(dev, mcp, logger);
process.stdout.write(startBanner(stack));
if (dev.DEV_DEMO_CALL) {
  const { description } = await runStartupDemoCall(stack.ingressUrl, await readDemoPassword(stack.credentialsPath));
  process.stdout.write(description);
}
installGracefulShutdown([() => stack.close()], { logger });

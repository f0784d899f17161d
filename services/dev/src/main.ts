import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { startTelemetry, telemetryConfigSchema } from '@mcp-broker/telemetry';

// First, as in each service's main.ts: modules patched at load time are imported after it.
const telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, process.env), {
  serviceName: 'mcp-broker-dev',
});
const { mcpServerConfigSchema } = await import('@mcp-broker/mcp-server');
const { devConfigSchema } = await import('./config.ts');
const { runStartupDemoCall } = await import('./demo-call.ts');
const { readDemoPassword } = await import('./dev-credentials.ts');
const { startBanner, startDevStack } = await import('./start-dev.ts');

const dev = loadConfig(devConfigSchema, process.env);
const mcp = loadConfig(mcpServerConfigSchema, process.env);
const logger = createLogger({ name: 'dev', level: mcp.LOG_LEVEL });
const stack = await startDevStack(dev, mcp, logger, telemetry);
process.stdout.write(startBanner(stack));
if (dev.DEV_DEMO_CALL) {
  const { description } = await runStartupDemoCall(stack.ingressUrl, await readDemoPassword(stack.credentialsPath));
  process.stdout.write(description);
}
installGracefulShutdown([() => stack.close(), () => telemetry.shutdown()], { logger });

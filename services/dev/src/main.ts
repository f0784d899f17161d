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
const { DEFAULT_REDIS_URL, ensureLocalRedis } = await import('./local-redis.ts');
const redis = await ensureLocalRedis({ url: process.env.REDIS_URL || DEFAULT_REDIS_URL, dataDir: dev.DEV_DATA_DIR });
const mcp = loadConfig(mcpServerConfigSchema, { ...process.env, REDIS_URL: redis.url });
const { openDevLogFile } = await import('./dev-log-file.ts');
const log = openDevLogFile(dev.DEV_DATA_DIR);
const logger = createLogger({ name: 'dev', level: mcp.LOG_LEVEL, destination: log.stream });
const stack = await startDevStack(dev, mcp, logger, telemetry);
process.stdout.write(startBanner(stack));
if (dev.DEV_DEMO_CALL) {
  const { description } = await runStartupDemoCall(stack.ingressUrl, await readDemoPassword(stack.credentialsPath));
  process.stdout.write(description);
}
process.stdout.write(`\nLogs: ${log.path} (LOG_LEVEL=${mcp.LOG_LEVEL})\nStop with Ctrl+C.\n`);
installGracefulShutdown([() => stack.close(), () => redis.close(), () => telemetry.shutdown()], { logger });

import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { startTelemetry, telemetryConfigSchema } from '@mcp-broker/telemetry';

// First: node:http is instrumented when it loads, so start.ts is imported after this.
const telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, process.env), { serviceName: 'mcp-server' });
const { mcpServerConfigSchema } = await import('./config.ts');
const { startMcpServer } = await import('./start.ts');

const config = loadConfig(mcpServerConfigSchema, process.env);
const logger = createLogger({ name: 'mcp-server', level: config.LOG_LEVEL });
const started = await startMcpServer(config, logger, { telemetry });
installGracefulShutdown([() => started.close(), () => telemetry.shutdown()], { logger });

import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { startTelemetry, telemetryConfigSchema } from '@mcp-broker/telemetry';

// First: node:http is instrumented when it loads, so start.ts is imported after this.
const telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, process.env), { serviceName: 'worker' });
const { loadBrokerConfigFile } = await import('@mcp-broker/broker-config');
const { workerConfigSchema } = await import('./config.ts');
const { startWorker } = await import('./start.ts');

const config = loadConfig(workerConfigSchema, process.env);
const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL });
const broker = await loadBrokerConfigFile(config.BROKER_CONFIG);
const started = await startWorker(config, broker, logger, { env: process.env, telemetry });
installGracefulShutdown([() => started.close(), () => telemetry.shutdown()], { logger });

import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { startTelemetry, telemetryConfigSchema } from '@mcp-broker/telemetry';

// First: node:http is instrumented when it loads, so start.ts is imported after this.
const telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, process.env), { serviceName: 'ingress' });
const { loadBrokerConfigFile } = await import('@mcp-broker/broker-config');
const { ingressConfigSchema } = await import('./config.ts');
const { startIngress } = await import('./start.ts');

const config = loadConfig(ingressConfigSchema, process.env);
const logger = createLogger({ name: 'ingress', level: config.LOG_LEVEL });
const broker = await loadBrokerConfigFile(config.BROKER_CONFIG);
const started = await startIngress(config, broker, logger, { env: process.env, telemetry });
installGracefulShutdown([() => started.close(), () => telemetry.shutdown()], { logger });

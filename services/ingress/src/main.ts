import { loadBrokerConfigFile } from '@mcp-broker/broker-config';
import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { ingressConfigSchema } from './config.ts';
import { startIngress } from './start.ts';

const config = loadConfig(ingressConfigSchema, process.env);
const logger = createLogger({ name: 'ingress', level: config.LOG_LEVEL });
const broker = await loadBrokerConfigFile(config.BROKER_CONFIG);
const started = await startIngress(config, broker, logger, { env: process.env });
installGracefulShutdown([() => started.close()], { logger });

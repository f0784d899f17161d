import { loadBrokerConfigFile } from '@mcp-broker/broker-config';
import { createLogger, installGracefulShutdown, loadConfig } from '@mcp-broker/runtime';
import { workerConfigSchema } from './config.ts';
import { startWorker } from './start.ts';

const config = loadConfig(workerConfigSchema, process.env);
const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL });
const broker = await loadBrokerConfigFile(config.BROKER_CONFIG);
const started = await startWorker(config, broker, logger, { env: process.env });
installGracefulShutdown([() => started.close()], { logger });

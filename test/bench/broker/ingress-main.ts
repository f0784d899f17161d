/**
 * Broker benchmark child: ingress, started as `services/ingress/src/main.ts` starts it (config from
 * the environment, broker configuration from the BROKER_CONFIG file, secrets from the environment),
 * plus the benchmark's IPC side channel. Env: as main.ts (the runner sets PORT=0, COSMOS_*, REDIS_*).
 */
import { loadBrokerConfigFile } from '@mcp-broker/broker-config';
import { ingressConfigSchema, startIngress } from '@mcp-broker/ingress';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { announceReady, serveParent } from '../mcp/ipc.ts';

const config = loadConfig(ingressConfigSchema, process.env);
const logger = createLogger({ name: 'ingress', level: config.LOG_LEVEL });
const broker = await loadBrokerConfigFile(config.BROKER_CONFIG);
const started = await startIngress(config, broker, logger, { env: process.env });

serveParent({}, () => started.close());
announceReady({ url: started.url, pid: process.pid });

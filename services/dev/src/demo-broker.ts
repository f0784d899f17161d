import { randomUUID } from 'node:crypto';
import type { BrokerConfig } from '@mcp-broker/broker-config';
import { ingressConfigSchema, startIngress } from '@mcp-broker/ingress';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import { startWorker, workerConfigSchema } from '@mcp-broker/worker';

export interface DemoBrokerOptions {
  /** Names the story: its logger, its store's database and its BROKER_CONFIG label. */
  name: string;
  broker: BrokerConfig;
  redisUrl: string;
  /** The secrets the story's broker configuration names. */
  env: Record<string, string | undefined>;
}

/**
 * A story's own ingress and worker on a store of its own, so a demo story never touches the dev
 * launcher's configuration. Ingress listens on a port of its own choosing (its links name it).
 */
export async function startDemoBroker(options: DemoBrokerOptions) {
  const { broker, env } = options;
  const logger = createLogger({ name: options.name, level: 'warn' });
  const store = await createStore({ databaseId: `${options.name}-${randomUUID().slice(0, 8)}` });
  const common = { BROKER_CONFIG: `(${options.name})`, REDIS_URL: options.redisUrl, LOG_LEVEL: 'warn' };
  const ingress = await startIngress(loadConfig(ingressConfigSchema, { ...common, PORT: '0' }), broker, logger, {
    store,
    env,
  });
  const worker = await startWorker(loadConfig(workerConfigSchema, common), broker, logger, { store, env });
  return {
    ingress,
    worker,
    store,
    async close(): Promise<void> {
      await worker.close();
      await ingress.close();
      await store.close();
    },
  };
}

import type { BrokerConfig } from '@mcp-broker/broker-config';
import type { ToolCatalog } from '@mcp-broker/mcp-client';
import type { Store } from '@mcp-broker/store';
import type { Redis } from 'ioredis';
import { createToolCallIntake, type ToolCallIntake } from './intake/tool-call-intake.ts';
import { BrokerQueues } from './queues/broker-queues.ts';
import type { RetryPolicy } from './queues/retry-policy.ts';
import { ToolCallRepository } from './record/tool-call-repository.ts';

/** The settings the core reads; ingress and the worker pass the same values, so both build the same core. */
export interface BrokerCoreSettings {
  keyPrefix: string;
  retentionDays: number;
  retry: Partial<RetryPolicy>;
}

export interface BrokerCoreOptions {
  settings: BrokerCoreSettings;
  broker: BrokerConfig;
  store: Store;
  redis: Redis;
  catalog: ToolCatalog;
  /** Where secret references resolve; only main.ts reads process.env, so it is always passed. */
  env: Record<string, string | undefined>;
  onQueueError?: (err: Error) => void;
}

export interface BrokerCore {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  intake: ToolCallIntake;
  /** Closes the queues; the caller owns (and closes) the store and the Redis connection it passed. */
  close(): Promise<void>;
}

/** The record, the queues and intake, wired once: ingress and the worker both start from here. */
export function createBrokerCore(options: BrokerCoreOptions): BrokerCore {
  const { settings, redis } = options;
  const repository = new ToolCallRepository({ store: options.store, retentionDays: settings.retentionDays });
  const queues = new BrokerQueues({
    connection: redis,
    prefix: settings.keyPrefix,
    retry: settings.retry,
    ...(options.onQueueError ? { onError: options.onQueueError } : {}),
  });
  const intake = createToolCallIntake({
    repository,
    queues,
    redis,
    prefix: settings.keyPrefix,
    catalog: options.catalog,
    broker: options.broker,
    env: options.env,
  });
  return { repository, queues, intake, close: () => queues.close() };
}

import type { BrokerConfig, BrokerSettings } from '@mcp-broker/broker-config';
import type { ToolCatalog } from '@mcp-broker/mcp-client';
import type { Store } from '@mcp-broker/store';
import type { Telemetry } from 'bullmq';
import type { Redis } from 'ioredis';
import { createToolCallIntake, type ToolCallIntake } from './intake/tool-call-intake.ts';
import { BrokerQueues } from './queues/broker-queues.ts';
import type { RetryPolicy } from './queues/retry-policy.ts';
import { ToolCallRepository } from './record/tool-call-repository.ts';

export interface BrokerCoreOptions {
  /**
   * The loaded broker configuration. Its `broker:` section (key prefix, attempts, retention) is
   * what the core runs with: ingress and the worker load the same file, so both build the same core.
   */
  broker: BrokerConfig;
  /** Backoff delays; only the worker retries jobs, so only it sets them. Defaults: 1 s doubling to 5 min. */
  backoff?: Partial<Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>>;
  store: Store;
  redis: Redis;
  catalog: ToolCatalog;
  /** Where secret references resolve; only main.ts reads process.env, so it is always passed. */
  env: Record<string, string | undefined>;
  onQueueError?: (err: Error) => void;
  /** BullMQ's telemetry option (bullmq-otel), when telemetry is on: the trace travels in each job. */
  telemetry?: Telemetry;
}

export interface BrokerCore {
  /** The shared settings the core runs with (from `broker:`); services key their own Redis use with `keyPrefix`. */
  settings: BrokerSettings;
  repository: ToolCallRepository;
  queues: BrokerQueues;
  intake: ToolCallIntake;
  /** Closes the queues; the caller owns (and closes) the store and the Redis connection it passed. */
  close(): Promise<void>;
}

/** The record, the queues and intake, wired once: ingress and the worker both start from here. */
export function createBrokerCore(options: BrokerCoreOptions): BrokerCore {
  const { redis } = options;
  const settings = options.broker.broker;
  const repository = new ToolCallRepository({ store: options.store, retentionDays: settings.retentionDays });
  const queues = new BrokerQueues({
    connection: redis,
    prefix: settings.keyPrefix,
    retry: {
      ...options.backoff,
      toolCallAttempts: settings.toolCallAttempts,
      writeBackAttempts: settings.writeBackAttempts,
    },
    ...(options.onQueueError ? { onError: options.onQueueError } : {}),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
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
  return { settings, repository, queues, intake, close: () => queues.close() };
}

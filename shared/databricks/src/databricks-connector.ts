import type { CallerConfig, DatabricksConfig } from '@mcp-broker/broker-config';
import type { Redis } from 'ioredis';
import { DatabricksDoorbellProcessor, prepareSources } from './databricks-doorbell.ts';
import { DatabricksDoorbellQueue, DatabricksDoorbellWorker } from './databricks-doorbell-queue.ts';
import type { DatabricksLogger } from './databricks-logger.ts';
import { DatabricksSqlHandler } from './databricks-sql-target.ts';
import { DatabricksWebhookSource, type LoginThrottle } from './databricks-webhook-source.ts';
import { DatabricksWorkspaces } from './databricks-workspaces.ts';
import type { ToolCallAcceptor } from './tool-call-acceptor.ts';

export interface DatabricksWorkerSideOptions {
  config: DatabricksConfig;
  callers: readonly CallerConfig[];
  env: Record<string, string | undefined>;
  /** The worker's Redis connection (BullMQ workers need `maxRetriesPerRequest: null`). */
  redis: Redis;
  keyPrefix: string;
  intake: ToolCallAcceptor;
  logger?: DatabricksLogger;
  /** Doorbell attempts' backoff when the Jobs API names no Retry-After. */
  retry?: { baseDelayMs: number; maxDelayMs: number };
  concurrency?: number;
}

/**
 * What the worker runs of Databricks: the `databricks-sql` write-back handler, and, when webhook
 * sources are configured, the doorbell worker that fetches runs and hands their calls to `accept()`.
 */
export function createDatabricksWorkerSide(options: DatabricksWorkerSideOptions) {
  const workspaces = new DatabricksWorkspaces(options.config.workspaces, { env: options.env });
  const doorbells =
    options.config.webhookSources.length === 0
      ? undefined
      : new DatabricksDoorbellWorker({
          connection: options.redis,
          prefix: options.keyPrefix,
          processor: new DatabricksDoorbellProcessor({
            sources: options.config.webhookSources,
            callers: options.callers,
            workspaces,
            intake: options.intake,
            ...(options.logger ? { logger: options.logger } : {}),
          }),
          ...(options.retry ? { retry: options.retry } : {}),
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
          ...(options.logger ? { logger: options.logger } : {}),
        });
  return {
    workspaces,
    writeBackHandlers: [new DatabricksSqlHandler({ workspaces })],
    start: () => doorbells?.start(),
    close: async () => {
      await doorbells?.close();
    },
  };
}

export interface DatabricksIngressSideOptions {
  config: DatabricksConfig;
  /** The configured callers: routes' write-back targets are checked against them at start, as in the worker. */
  callers: readonly CallerConfig[];
  redis: Redis;
  keyPrefix: string;
  throttle: LoginThrottle;
  logger?: DatabricksLogger;
  /** Doorbell attempts before the failure is recorded. Default 8. */
  attempts?: number;
}

/** What ingress runs of Databricks: the webhook source, queueing doorbells in Redis; undefined without sources. */
export function createDatabricksIngressSide(options: DatabricksIngressSideOptions) {
  if (options.config.webhookSources.length === 0) return undefined;
  // A bad route stops ingress too, naming the field, rather than only the worker.
  prepareSources(options.config.webhookSources, options.callers);
  const queue = new DatabricksDoorbellQueue({
    connection: options.redis,
    prefix: options.keyPrefix,
    ...(options.attempts ? { attempts: options.attempts } : {}),
  });
  const source = new DatabricksWebhookSource({
    sources: options.config.webhookSources,
    workspaces: options.config.workspaces,
    doorbells: queue,
    throttle: options.throttle,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return { source, queue, close: () => queue.close() };
}

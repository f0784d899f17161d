import { BatchEngine } from '@mcp-broker/batch';
import { AcceptCoalescer, createBrokerCore, HttpCallbackHandler } from '@mcp-broker/broker';
import {
  applyDeprecatedSettingsEnv,
  assertSecretsPresent,
  type BrokerConfig,
  type BrokerSettings,
  resolveSecret,
} from '@mcp-broker/broker-config';
import { createDatabricksWorkerSide } from '@mcp-broker/databricks';
import { createEventGridWorkerSide } from '@mcp-broker/event-grid';
import { createBrokerUpstream, endpointReachabilityChecks } from '@mcp-broker/mcp-client';
import type { Logger } from '@mcp-broker/runtime';
import {
  FieldLimits,
  OrgConnections,
  SalesforceEventHandler,
  SalesforceRecordHandler,
  SalesforceResultHandler,
} from '@mcp-broker/salesforce';
import { type ChannelStatus, PlatformEventConnector } from '@mcp-broker/salesforce-events';
import { ServiceBusConnector } from '@mcp-broker/service-bus';
import { createStore, type Store, storeOptionsFromEnv } from '@mcp-broker/store';
import {
  BrokerMetrics,
  brokerMeter,
  type QueueGauge,
  registerMetricsRoute,
  type ServiceTelemetry,
} from '@mcp-broker/telemetry';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BrokerWorker } from './broker-worker.ts';
import type { WorkerConfig } from './config.ts';
import { buildWorkerHealthApp, redisCheck, type WorkerStatus } from './health-app.ts';
import { McpToolInvoker } from './mcp-invoker.ts';
import { SalesforceEventSink } from './salesforce-event-sink.ts';

export interface StartedWorker {
  worker: BrokerWorker;
  upstream: ReturnType<typeof createBrokerUpstream>;
  /** The shared settings this worker runs with (the file's `broker:`, after deprecated variables). */
  settings: BrokerSettings;
  /** Platform event channels as this replica sees them (leader or standby); empty without orgs. */
  salesforceChannels(): ChannelStatus[];
  /** Queue depths and channels, as `GET /status` answers. */
  status(): Promise<WorkerStatus>;
  /** Where `/healthz`, `/readyz` and `/status` are served, when `HEALTH_PORT` is set. */
  healthUrl: string | undefined;
  /** Drains (jobs in hand finish), then disconnects. */
  close(): Promise<void>;
}

/** Wires configuration into real dependencies and starts consuming. */
export async function startWorker(
  config: WorkerConfig,
  file: BrokerConfig,
  logger: Logger,
  overrides: { env: Record<string, string | undefined>; store?: Store; telemetry?: ServiceTelemetry },
): Promise<StartedWorker> {
  const { env } = overrides;
  const broker = applyDeprecatedSettingsEnv(file, config, (message) => logger.warn(message));
  assertSecretsPresent(broker, env);
  const store = overrides.store ?? (await createStore(storeOptionsFromEnv(config)));
  // BullMQ workers block on Redis: they need unlimited retries per request.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  const upstream = createBrokerUpstream(broker, {
    env,
    poolSize: config.MCP_POOL_SIZE,
    idleMs: config.MCP_POOL_IDLE_MS,
  });
  const core = createBrokerCore({
    backoff: { baseDelayMs: config.RETRY_BASE_DELAY_MS, maxDelayMs: config.RETRY_MAX_DELAY_MS },
    broker,
    store,
    redis,
    catalog: upstream.catalog,
    env,
    onQueueError: (err) => logger.warn({ err: { message: err.message } }, 'queue connection error'),
    ...(overrides.telemetry?.bullmq ? { telemetry: overrides.telemetry.bullmq } : {}),
  });
  // The API's meter: a no-op unless startTelemetry registered the SDK's provider.
  const metrics = new BrokerMetrics(brokerMeter(), { callers: broker.callers.map((c) => c.id) });
  const { repository, queues } = core;
  const callers = new Map(broker.callers.map((c) => [c.id, c]));
  const orgs = new OrgConnections({ orgs: broker.salesforce.orgs, env, logger });
  const salesforce = {
    orgs,
    fieldLimits: new FieldLimits(),
    logger,
    ...(config.PUBLIC_URL ? { resultUrlFor: (r: { id: string }) => `${config.PUBLIC_URL}/v1/tool-calls/${r.id}` } : {}),
  };
  // Service Bus: the service-bus target, and a peek-lock receiver per source (docs/service-bus.md).
  const serviceBus = new ServiceBusConnector({
    config: broker.serviceBus,
    callers: broker.callers,
    intake: core.intake,
    env,
    logger,
  });
  // Event Grid: the event-grid target, and a receive loop per namespace pull subscription.
  const eventGrid = createEventGridWorkerSide({
    config: broker.eventGrid,
    callers: broker.callers,
    acceptor: core.intake,
    logger,
    env,
  });
  // Databricks: the databricks-sql target, and the doorbell worker fetching runs for webhooks.
  const databricks = createDatabricksWorkerSide({
    config: broker.databricks,
    callers: broker.callers,
    env,
    redis,
    keyPrefix: core.settings.keyPrefix,
    intake: core.intake,
    logger,
    retry: { baseDelayMs: config.RETRY_BASE_DELAY_MS, maxDelayMs: config.RETRY_MAX_DELAY_MS },
  });
  const worker = new BrokerWorker({
    callers: broker.callers,
    redis,
    prefix: core.settings.keyPrefix,
    repository,
    queues,
    invoker: new McpToolInvoker(upstream, broker.endpoints, metrics),
    writeBackHandlers: [
      new HttpCallbackHandler({
        policyFor: (caller) => {
          const c = callers.get(caller);
          return { hosts: c?.callbackHosts ?? [], allowPrivate: c?.allowPrivateCallbacks ?? false };
        },
        secretFor: (caller) => {
          const ref = callers.get(caller)?.callbackSigningSecret;
          if (!ref) throw new Error(`Caller ${caller} has no callbackSigningSecret.`);
          return resolveSecret(ref, env);
        },
      }),
      new SalesforceRecordHandler(salesforce),
      new SalesforceResultHandler(salesforce),
      new SalesforceEventHandler(salesforce),
      ...databricks.writeBackHandlers,
      ...eventGrid.writeBackHandlers,
      serviceBus.targetHandler,
    ],
    logger,
    metrics,
    ...(overrides.telemetry?.bullmq ? { telemetry: overrides.telemetry.bullmq } : {}),
    lockDurationMs: config.JOB_LOCK_MS,
    writeBackConcurrency: config.WRITE_BACK_CONCURRENCY,
    inlineWriteBackTimeoutMs: config.INLINE_WRITE_BACK_TIMEOUT_MS,
    runningWriteAfterMs: core.settings.runningWriteAfterMs,
    ...(config.RECONCILE_INTERVAL_SECONDS > 0
      ? {
          reconcile: {
            intervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000,
            graceMs: config.RECONCILE_GRACE_SECONDS * 1000,
          },
        }
      : {}),
  });
  await worker.start();
  // Platform events are submitted here exactly as ingress submits API calls.
  const connector =
    config.SALESFORCE_EVENTS && broker.salesforce.orgs.length > 0
      ? new PlatformEventConnector({
          orgs: broker.salesforce.orgs,
          redis,
          keyPrefix: core.settings.keyPrefix,
          store,
          connections: (orgId) => orgs.get(orgId),
          sink: new SalesforceEventSink({
            intake: new AcceptCoalescer({
              intake: core.intake,
              maxBatch: config.SALESFORCE_ACCEPT_BATCH,
              onGroup: (caller, size) => metrics.acceptGroup(caller, size),
            }),
            orgs: broker.salesforce.orgs,
            callers: broker.callers,
          }),
          logger,
          // A refused replay id is logged at error and recorded on the checkpoint by the connector.
          leaseTtlMs: config.SALESFORCE_LEASE_TTL_MS,
        })
      : undefined;
  connector?.start();
  databricks.start();
  eventGrid.start();
  serviceBus.start();
  // Scheduled batch enrichment: a job scheduler per schedule; runs hand each record to the same intake.
  const batch =
    broker.schedules.length > 0
      ? new BatchEngine({
          schedules: broker.schedules,
          callers: broker.callers,
          redis,
          prefix: core.settings.keyPrefix,
          store,
          intake: core.intake,
          queues,
          repository,
          orgs,
          catalog: upstream.catalog,
          logger,
          lockDurationMs: config.JOB_LOCK_MS,
          retentionDays: core.settings.retentionDays,
        })
      : undefined;
  await batch?.start();
  const status = async (): Promise<WorkerStatus> => {
    const toolCalls = Object.fromEntries(
      await Promise.all(
        broker.callers.map(async (c) => [c.id, await queues.toolCallQueue(c.id).getJobCounts()] as const),
      ),
    );
    return {
      toolCalls,
      writeBacks: await queues.writeBackQueue().getJobCounts(),
      ...(worker.reconciler ? { reconciled: { ...worker.reconciler.counts } } : {}),
      salesforce: connector?.status() ?? [],
      serviceBus: serviceBus.status(),
    };
  };
  const health =
    config.HEALTH_PORT === undefined
      ? undefined
      : buildWorkerHealthApp({
          logger,
          readiness: {
            redis: redisCheck(redis),
            store: () => store.ping(),
            ...endpointReachabilityChecks(broker.endpoints),
          },
          status,
        });
  if (overrides.telemetry?.enabled) {
    metrics.observeQueues(broker.callers.map((c) => queueGauge(queues.toolCallQueue(c.id), c.id)));
    metrics.observeSalesforceChannels(() =>
      (connector?.status() ?? []).map((c) => ({ ...c, leader: c.role === 'leader' })),
    );
  }
  if (health && overrides.telemetry?.prometheus) registerMetricsRoute(health, overrides.telemetry.prometheus);
  const healthUrl = health ? await health.listen({ host: config.HOST, port: config.HEALTH_PORT }) : undefined;
  logger.info(
    { callers: broker.callers.length, salesforceChannels: connector?.status().length ?? 0, healthUrl },
    'worker consuming',
  );
  return {
    worker,
    upstream,
    settings: core.settings,
    salesforceChannels: () => connector?.status() ?? [],
    status,
    healthUrl,
    async close() {
      await health?.close();
      // Events first: nothing new is submitted while the queues drain.
      await connector?.stop();
      await databricks.close();
      await eventGrid.stop();
      await serviceBus.close();
      await batch?.close();
      await worker.close();
      await orgs.close();
      await upstream.close();
      await core.close();
      redis.disconnect();
      if (!overrides.store) await store.close();
    },
  };
}

/** Depth and oldest waiting job of one caller queue, read from Redis when metrics are collected. */
function queueGauge(queue: Queue, caller: string): QueueGauge {
  return {
    caller,
    depth: () => queue.getJobCountByTypes('waiting', 'delayed', 'prioritized'),
    oldestWaitingAt: async () => {
      const [oldest] = await queue.getJobs(['waiting', 'prioritized'], 0, 0, true);
      return oldest?.timestamp;
    },
  };
}

import { BatchQueue, BatchRunRepository, BatchRunService } from '@mcp-broker/batch';
import { createBrokerCore } from '@mcp-broker/broker';
import {
  applyDeprecatedSettingsEnv,
  assertSecretsPresent,
  type BrokerConfig,
  type BrokerSettings,
} from '@mcp-broker/broker-config';
import { createDatabricksIngressSide } from '@mcp-broker/databricks';
import { EventGridWebhookSource } from '@mcp-broker/event-grid';
import { createBrokerUpstream, endpointReachabilityChecks } from '@mcp-broker/mcp-client';
import type { Logger } from '@mcp-broker/runtime';
import { createStore, type Store, storeOptionsFromEnv } from '@mcp-broker/store';
import { registerMetricsRoute, type ServiceTelemetry } from '@mcp-broker/telemetry';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildIngressApp } from './app.ts';
import { BasicLoginThrottle } from './basic-login-throttle.ts';
import { CallerAuthenticator } from './caller-authenticator.ts';
import type { IngressConfig } from './config.ts';
import { ToolCallService } from './tool-call-service.ts';

export interface StartedIngress {
  app: FastifyInstance;
  service: ToolCallService;
  /** The shared settings this ingress runs with (the file's `broker:`, after deprecated variables). */
  settings: BrokerSettings;
  url: string;
  close(): Promise<void>;
}

/** Wires configuration into real dependencies and listens. */
export async function startIngress(
  config: IngressConfig,
  file: BrokerConfig,
  logger: Logger,
  overrides: {
    env: Record<string, string | undefined>;
    store?: Store;
    fetch?: typeof fetch;
    /** From startTelemetry: the trace carried into each job, `GET /metrics`. */
    telemetry?: ServiceTelemetry;
  },
): Promise<StartedIngress> {
  const { env } = overrides;
  const broker = applyDeprecatedSettingsEnv(file, config, (message) => logger.warn(message));
  assertSecretsPresent(broker, env);
  const store = overrides.store ?? (await createStore(storeOptionsFromEnv(config)));
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  const upstream = createBrokerUpstream(broker, { env, ...(overrides.fetch ? { fetch: overrides.fetch } : {}) });
  const core = createBrokerCore({
    broker,
    store,
    redis,
    catalog: upstream.catalog,
    env,
    ...(overrides.telemetry?.bullmq ? { telemetry: overrides.telemetry.bullmq } : {}),
  });
  const service = new ToolCallService({
    repository: core.repository,
    queues: core.queues,
    redis,
    prefix: core.settings.keyPrefix,
    maxJsonDepth: config.MAX_JSON_DEPTH,
    intake: core.intake,
  });
  // Without PUBLIC_URL, links name the address listened on: the port bound when PORT is 0.
  let listening: string | undefined;
  const publicUrl = (): string => config.PUBLIC_URL ?? listening ?? `http://${config.HOST}:${config.PORT}`;
  // Databricks webhooks: doorbells queued in Redis for the worker. Failed Basic logins have their own
  // throttle, apart from the API callers' (CallerAuthenticator's): guesses at one never lock out the other.
  const databricks = createDatabricksIngressSide({
    config: broker.databricks,
    callers: broker.callers,
    redis,
    keyPrefix: core.settings.keyPrefix,
    logger,
    throttle: new BasicLoginThrottle({
      perUsername: config.BASIC_AUTH_FAILURES_PER_USERNAME,
      perAddress: config.BASIC_AUTH_FAILURES_PER_ADDRESS,
      total: config.BASIC_AUTH_FAILURES_TOTAL,
    }),
  });
  const batchQueue = new BatchQueue({ connection: redis, prefix: core.settings.keyPrefix });
  const batch = new BatchRunService({
    schedules: broker.schedules,
    runs: new BatchRunRepository({ store, retentionDays: core.settings.retentionDays }),
    queue: batchQueue,
  });
  const app = await buildIngressApp({
    logger,
    service,
    ...(databricks ? { databricksWebhooks: databricks.source } : {}),
    ...(broker.eventGrid.push.length > 0
      ? {
          eventGridWebhooks: new EventGridWebhookSource({
            subscriptions: broker.eventGrid.push,
            callers: broker.callers,
            acceptor: core.intake,
            ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
          }),
        }
      : {}),
    batch,
    queueDashboard: {
      queues: [...broker.callers.map((c) => core.queues.toolCallQueue(c.id)), core.queues.writeBackQueue()],
      callers: broker.callers,
    },
    authenticator: new CallerAuthenticator(broker.callers, {
      ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
      basicCacheMs: config.BASIC_AUTH_CACHE_SECONDS * 1000,
      basicLoginLimits: {
        perUsername: config.BASIC_AUTH_FAILURES_PER_USERNAME,
        perAddress: config.BASIC_AUTH_FAILURES_PER_ADDRESS,
        total: config.BASIC_AUTH_FAILURES_TOTAL,
      },
    }),
    publicUrl,
    bodyLimit: config.BODY_LIMIT_BYTES,
    maxJsonDepth: config.MAX_JSON_DEPTH,
    readiness: {
      store: () => store.ping(),
      redis: async () => {
        await redis.ping();
      },
      ...endpointReachabilityChecks(broker.endpoints, overrides.fetch ? { fetch: overrides.fetch } : {}),
    },
  });
  if (overrides.telemetry?.prometheus) registerMetricsRoute(app, overrides.telemetry.prometheus);
  const url = await app.listen({ host: config.HOST, port: config.PORT });
  const bound = app.server.address();
  if (bound && typeof bound === 'object') listening = `http://${config.HOST}:${bound.port}`;
  logger.info({ url }, 'ingress listening');
  return {
    app,
    service,
    settings: core.settings,
    url,
    async close() {
      await app.close();
      await databricks?.close();
      await upstream.close();
      await batchQueue.close();
      await core.close();
      redis.disconnect();
      if (!overrides.store) await store.close();
    },
  };
}

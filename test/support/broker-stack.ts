import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier } from '@mcp-broker/auth';
import { type BrokerConfig, brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';
import type { ToolCallView } from '@mcp-broker/contracts';
import { type DevOAuthServer, startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { ingressConfigSchema, type StartedIngress, startIngress } from '@mcp-broker/ingress';
import { buildMcpServer, type McpServer, type ToolDefinition } from '@mcp-broker/mcp-server';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import { registerMetricsRoute, type ServiceTelemetry } from '@mcp-broker/telemetry';
import { type StartedWorker, startWorker, workerConfigSchema } from '@mcp-broker/worker';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const RESOURCE = 'api://mcp-broker-e2e';
export const CALLBACK_SECRET = 'e2e-callback-signing-secret';

export interface Callback {
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; status: string; result?: unknown; error?: { code: string } };
}

/** A callback receiver on loopback that records what it receives (and can answer with errors). */
export async function startCallbackReceiver() {
  const received: Callback[] = [];
  const plan: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const status = plan.shift() ?? 200;
      if (status === 200) received.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: (path = '/cb') => `http://${host}${path}`,
    received,
    /** Statuses to answer with before answering 200 again. */
    failNext: (...statuses: number[]) => plan.push(...statuses),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface BrokerStack {
  ingressUrl: string;
  mcpUrl: string;
  oauth: DevOAuthServer;
  store: Store;
  mcp: McpServer;
  ingress: StartedIngress;
  worker: StartedWorker | undefined;
  prefix: string;
  /** Secrets the configuration references. */
  env: Record<string, string>;
  /** Environment for a worker child process sharing this stack (store, Redis, secrets). */
  childWorkerEnv(brokerConfigPath: string): Record<string, string>;
  broker: BrokerConfig;
  /** Starts another worker replica in this process (stopped by the test, or by close()); `env` adds worker settings. */
  startWorkerReplica(env?: Record<string, string>): Promise<StartedWorker>;
  /** Basic credentials of a configured caller. */
  auth(caller: 'caller-a' | 'caller-b' | 'admin'): string;
  close(): Promise<void>;
}

const FINAL_CALL_STATUSES = ['succeeded', 'failed', 'cancelled'];

/**
 * Waits until a call is final, server-side (`GET /v1/tool-calls/{id}?wait=20`, up to six times),
 * and answers its view as the caller reads it; throws when it is not final by then.
 */
export async function settledCall<T extends { status: string } = ToolCallView>(
  stack: Pick<BrokerStack, 'ingressUrl' | 'auth'>,
  id: string,
  caller: 'caller-a' | 'caller-b' | 'admin' = 'caller-a',
): Promise<T> {
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}?wait=20`, {
      headers: { authorization: stack.auth(caller) },
    });
    const view = (await res.json()) as T;
    if (FINAL_CALL_STATUSES.includes(view.status)) return view;
  }
  throw new Error(`call ${id} did not settle`);
}

/**
 * The whole broker on real peers: dev OAuth server (oidc-provider) issuing each caller's upstream
 * tokens, the governed MCP server trusting it, ingress and worker, the embedded store, real Redis.
 */
export async function startBrokerStack(options: {
  tools: readonly ToolDefinition[];
  callbackHost: string;
  roles: string[];
  perTool?: Record<string, { points: number; windowSeconds: number }>;
  workerEnv?: Record<string, string>;
  /** Lifetime of upstream access tokens; when set, the MCP server allows no clock skew either. */
  tokenTtlSeconds?: number;
  /** Connects this sandbox as org `org-a` of caller-a (client credentials; platform events in, write-back out). */
  salesforce?: { loginUrl: string; clientId: string; clientSecret: string; apiVersion: string };
  /** Start the worker in this process (default true); false for tests that run it as a child process. */
  inProcessWorker?: boolean;
  /** The databricks section of the configuration (docs/databricks.md) and the secrets it references. */
  databricks?: { section: unknown; env: Record<string, string> };
  /** The eventGrid section of the configuration (docs/event-grid.md) and the secrets it references. */
  eventGrid?: { section: unknown; env: Record<string, string> };
  /** The serviceBus section of the configuration (docs/service-bus.md) and the secrets it references. */
  serviceBus?: { section: unknown; env: Record<string, string> };
  /** Batch schedules (`schedules` in the broker configuration). */
  schedules?: unknown[];
  /** From startTelemetry, handed to ingress and each worker replica as their main.ts does. */
  telemetry?: ServiceTelemetry;
  /** Further `broker:` settings of the configuration file (e.g. `runningWriteAfterMs`). */
  brokerSettings?: { runningWriteAfterMs?: number };
}): Promise<BrokerStack> {
  const prefix = `e2e:${randomUUID()}:`;
  const logger = createLogger({ name: 'e2e', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const secrets = { A: randomUUID(), B: randomUUID(), ADMIN: randomUUID() };
  const passwords = { 'caller-a': randomUUID(), 'caller-b': randomUUID(), admin: randomUUID() };
  const oauth = await startDevOAuthServer({
    audience: RESOURCE,
    ...(options.tokenTtlSeconds ? { accessTokenTtlSeconds: options.tokenTtlSeconds } : {}),
    clients: [
      { clientId: 'broker-for-a', clientSecret: secrets.A, roles: options.roles },
      { clientId: 'broker-for-b', clientSecret: secrets.B, roles: options.roles },
      { clientId: 'broker-for-admin', clientSecret: secrets.ADMIN, roles: options.roles },
    ],
  });
  const store = await createStore({ databaseId: `e2e-${randomUUID()}` });
  const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const mcp = buildMcpServer({
    logger,
    store,
    redis,
    verifier: createTokenVerifier({
      issuers: [{ issuer: oauth.issuer }],
      audience: RESOURCE,
      ...(options.tokenTtlSeconds ? { clockToleranceSeconds: 0 } : {}),
    }),
    tools: options.tools,
    publicUrl: 'http://127.0.0.1',
    resource: RESOURCE,
    authorizationServers: [oauth.issuer],
    redisKeyPrefix: prefix,
    rateLimit: {
      perIdentity: { points: 100_000, windowSeconds: 60 },
      ...(options.perTool ? { perTool: options.perTool } : {}),
    },
  });
  // As startMcpServer does: GET /metrics when the Prometheus exporter is on.
  if (options.telemetry?.prometheus) registerMetricsRoute(mcp.app, options.telemetry.prometheus);
  const mcpUrl = await mcp.app.listen({ host: '127.0.0.1', port: 0 });

  const caller = (id: keyof typeof passwords, client: string, secretEnv: string, admin = false) => ({
    id,
    auth: { type: 'basic', username: id, passwordHash: '' },
    upstream: {
      endpoint: 'local',
      credential: {
        type: 'client-credentials',
        tokenUrl: oauth.tokenEndpoint,
        clientId: client,
        clientSecret: { fromEnv: secretEnv },
        scope: options.roles.join(' '),
      },
    },
    tools: id === 'caller-b' ? ['test_echo'] : ['*'],
    limits: { concurrency: 4, callsPerMinute: 10_000 },
    callbackHosts: [options.callbackHost],
    allowPrivateCallbacks: true,
    callbackSigningSecret: { fromEnv: 'E2E_CALLBACK_SECRET' },
    admin,
  });
  const raw = {
    // Shared by ingress and every worker replica, as in production: one file, one set of values.
    broker: { keyPrefix: prefix, toolCallAttempts: 4, writeBackAttempts: 4, ...options.brokerSettings },
    endpoints: { local: { url: `${mcpUrl}/mcp`, callTimeoutMs: 60_000 } },
    databricks: options.databricks?.section,
    eventGrid: options.eventGrid?.section,
    serviceBus: options.serviceBus?.section,
    callers: [
      caller('caller-a', 'broker-for-a', 'E2E_SECRET_A'),
      caller('caller-b', 'broker-for-b', 'E2E_SECRET_B'),
      caller('admin', 'broker-for-admin', 'E2E_SECRET_ADMIN', true),
    ],
    schedules: options.schedules ?? [],
    salesforce: {
      orgs: options.salesforce
        ? [
            {
              id: 'org-a',
              caller: 'caller-a',
              loginUrl: options.salesforce.loginUrl,
              apiVersion: options.salesforce.apiVersion,
              auth: {
                type: 'client-credentials',
                clientId: options.salesforce.clientId,
                clientSecret: { fromEnv: 'E2E_SALESFORCE_SECRET' },
              },
              channels: [{ channel: '/event/MCP_Tool_Request__e', initialReplay: 'all-retained' }],
            },
          ]
        : [],
    },
  };
  for (const c of raw.callers) c.auth.passwordHash = await hashPassword(passwords[c.id], { N: 1024, r: 8, p: 1 });
  const broker = brokerConfigSchema.parse(raw);
  const env = {
    E2E_SECRET_A: secrets.A,
    E2E_SECRET_B: secrets.B,
    E2E_SECRET_ADMIN: secrets.ADMIN,
    E2E_CALLBACK_SECRET: CALLBACK_SECRET,
    ...options.databricks?.env,
    ...options.eventGrid?.env,
    ...options.serviceBus?.env,
    ...(options.salesforce ? { E2E_SALESFORCE_SECRET: options.salesforce.clientSecret } : {}),
  };
  const common = { BROKER_CONFIG: '(in memory)', REDIS_URL };
  const ingress = await startIngress(loadConfig(ingressConfigSchema, { ...common, PORT: '0' }), broker, logger, {
    store,
    env,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
  });
  const workerSettings = {
    RETRY_BASE_DELAY_MS: '20',
    RETRY_MAX_DELAY_MS: '200',
    SALESFORCE_LEASE_TTL_MS: '2000',
    ...options.workerEnv,
  };
  const replicas: StartedWorker[] = [];
  const startWorkerReplica = async (extra: Record<string, string> = {}) => {
    const replica = await startWorker(
      loadConfig(workerConfigSchema, { ...common, ...workerSettings, ...extra }),
      broker,
      logger,
      {
        store,
        env,
        ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      },
    );
    replicas.push(replica);
    return replica;
  };
  const worker = options.inProcessWorker === false ? undefined : await startWorkerReplica();
  return {
    ingressUrl: ingress.url,
    mcpUrl,
    oauth,
    store,
    mcp,
    ingress,
    worker,
    prefix,
    broker,
    env,
    childWorkerEnv: (brokerConfigPath) => ({
      ...env,
      ...workerSettings,
      BROKER_CONFIG: brokerConfigPath,
      REDIS_URL,
      COSMOS_ENDPOINT: store.endpoint,
      COSMOS_KEY: Buffer.from('embedded').toString('base64'),
      COSMOS_DATABASE: store.database.id,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    }),
    auth: (id) => `Basic ${Buffer.from(`${id}:${passwords[id]}`).toString('base64')}`,
    startWorkerReplica,
    async close() {
      // A replica a test already closed closes again harmlessly.
      await Promise.all(replicas.map((r) => r.close().catch(() => {})));
      await ingress.close();
      await mcp.close();
      redis.disconnect();
      const cleanup = new Redis(REDIS_URL);
      const keys = await cleanup.keys(`${prefix}*`);
      if (keys.length) await cleanup.del(...keys);
      cleanup.disconnect();
      await oauth.close();
      await store.close();
    },
  };
}

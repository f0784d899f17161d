import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';
import { type DevOAuthServer, startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { freePort, RedisProcess } from '@mcp-broker/redis-process';
import type { SalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { type BenchChild, spawnChild } from '../bench/mcp/children.ts';
import { ChaosReceiver } from './callback-receiver.ts';
import { OutageProxy } from './outage-proxy.ts';
import { CHAOS_RESOURCE, RECORD_PERMISSION, RECORD_TOOL_NAME } from './recording-tool.ts';

/**
 * Worker settings of the chaos stack: shorter than the defaults so that a killed worker's jobs are
 * taken over within seconds (JOB_LOCK_MS), retries back off and the reconcile sweep runs within
 * the run, but the same code paths. CHAOS_WORKER_ENV (k=v,k=v) adds or overrides.
 */
export const CHAOS_WORKER_SETTINGS: Record<string, string> = {
  JOB_LOCK_MS: '5000',
  RETRY_BASE_DELAY_MS: '250',
  RETRY_MAX_DELAY_MS: '4000',
  SALESFORCE_EVENTS: 'false',
  // The reconcile sweep (re-queues records whose jobs Redis lost) within the run, not after minutes.
  RECONCILE_INTERVAL_SECONDS: '5',
  RECONCILE_GRACE_SECONDS: '10',
};

export interface ChaosStackOptions {
  root: string;
  aof: boolean;
  workers: number;
  /** Calls the caller may have in flight across workers (its queue's global concurrency). */
  concurrency: number;
  extraWorkerEnv: Record<string, string>;
  logLevel: string;
  log: (line: string) => void;
  /** Connects this sandbox as org `org-chaos` of the caller; the workers subscribe to its request channel. */
  salesforce?: SalesforceSandbox;
}

export const REQUEST_CHANNEL = '/event/MCP_Tool_Request__e';

/**
 * One scenario's broker on real processes: the embedded Cosmos-compatible store (a child, reached
 * by ingress and workers through a proxy that can be taken down), the governed MCP server with the
 * recording tool (a child on a fixed port, so it can be killed and started again at the same URL),
 * ingress and N workers (children, started as their main.ts files start them), a redis-server of
 * its own (killable), the dev OAuth server and the callback receiver (in this process).
 */
export class ChaosStack {
  readonly logDir: string;
  readonly invocationLog: string;
  readonly redis: RedisProcess;
  readonly oauth: DevOAuthServer;
  readonly receiver: ChaosReceiver;
  readonly storeProxy: OutageProxy;
  readonly cosmos: BenchChild;
  readonly authorization: string;
  mcp: BenchChild | undefined;
  ingress: BenchChild | undefined;
  workers: BenchChild[] = [];
  workerStarts = 0;
  readonly #o: ChaosStackOptions;
  readonly #mcpEnv: Record<string, string>;
  readonly #serviceEnv: Record<string, string>;
  readonly #children: BenchChild[] = [];
  readonly #starting = new Set<Promise<void>>();
  readonly #healthPorts = new Map<BenchChild, number>();

  private constructor(init: {
    o: ChaosStackOptions;
    logDir: string;
    redis: RedisProcess;
    oauth: DevOAuthServer;
    receiver: ChaosReceiver;
    cosmos: BenchChild;
    storeProxy: OutageProxy;
    authorization: string;
    mcpEnv: Record<string, string>;
    serviceEnv: Record<string, string>;
  }) {
    this.#o = init.o;
    this.logDir = init.logDir;
    this.invocationLog = join(init.logDir, 'invocations.log');
    this.redis = init.redis;
    this.oauth = init.oauth;
    this.receiver = init.receiver;
    this.cosmos = init.cosmos;
    this.storeProxy = init.storeProxy;
    this.authorization = init.authorization;
    this.#mcpEnv = init.mcpEnv;
    this.#serviceEnv = init.serviceEnv;
    this.#children.push(init.cosmos);
  }

  static async start(o: ChaosStackOptions): Promise<ChaosStack> {
    const logDir = await mkdtemp(join(o.root, 'stack-'));
    const prefix = `chaos:${randomUUID()}:`;
    const databaseId = `chaos-${randomUUID().slice(0, 8)}`;
    const secrets = {
      upstream: randomBytes(24).toString('base64url'),
      callback: randomBytes(24).toString('base64url'),
      password: randomBytes(24).toString('base64url'),
    };
    const redis = await RedisProcess.start({ root: logDir, aof: o.aof });
    const oauth = await startDevOAuthServer({
      audience: CHAOS_RESOURCE,
      clients: [{ clientId: 'chaos-caller', clientSecret: secrets.upstream, roles: [RECORD_PERMISSION] }],
    });
    const receiver = await ChaosReceiver.start(secrets.callback);
    const cosmos = await spawnChild({
      name: 'cosmos',
      entry: '../broker/cosmos-main.ts',
      env: { BENCH_DATABASE: databaseId },
      logDir,
    });
    const store = cosmos.info as { endpoint: string; key: string };
    const storeProxy = await OutageProxy.start(store.endpoint);
    const mcpPort = await freePort();
    const brokerConfig = brokerConfigSchema.parse({
      // Shared by ingress and the worker (the broker configuration file, not their environments).
      broker: { keyPrefix: prefix, toolCallAttempts: 8, writeBackAttempts: 8 },
      endpoints: { local: { url: `http://127.0.0.1:${mcpPort}/mcp`, callTimeoutMs: 30_000 } },
      callers: [
        {
          id: 'chaos',
          auth: {
            type: 'basic',
            username: 'chaos',
            passwordHash: await hashPassword(secrets.password, { N: 1024, r: 8, p: 1 }),
          },
          upstream: {
            endpoint: 'local',
            credential: {
              type: 'client-credentials',
              tokenUrl: oauth.tokenEndpoint,
              clientId: 'chaos-caller',
              clientSecret: { fromEnv: 'CHAOS_UPSTREAM_SECRET' },
              scope: RECORD_PERMISSION,
            },
          },
          tools: [RECORD_TOOL_NAME],
          limits: { concurrency: o.concurrency, callsPerMinute: 100_000 },
          callbackHosts: [receiver.host],
          allowPrivateCallbacks: true,
          callbackSigningSecret: { fromEnv: 'CHAOS_CALLBACK_SECRET' },
        },
      ],
      salesforce: {
        orgs: o.salesforce
          ? [
              {
                id: 'org-chaos',
                caller: 'chaos',
                loginUrl: o.salesforce.loginUrl,
                apiVersion: o.salesforce.apiVersion,
                auth: {
                  type: 'client-credentials',
                  clientId: o.salesforce.clientId,
                  clientSecret: { fromEnv: 'CHAOS_SALESFORCE_SECRET' },
                },
                channels: [{ channel: REQUEST_CHANNEL, initialReplay: 'all-retained' }],
              },
            ]
          : [],
      },
    });
    const configPath = join(logDir, 'broker.json');
    await writeFile(configPath, JSON.stringify(brokerConfig, null, 2));
    const stack = new ChaosStack({
      o,
      logDir,
      redis,
      oauth,
      receiver,
      cosmos,
      storeProxy,
      authorization: `Basic ${Buffer.from(`chaos:${secrets.password}`).toString('base64')}`,
      mcpEnv: {
        CHAOS_PORT: String(mcpPort),
        CHAOS_ISSUER: oauth.issuer,
        CHAOS_COSMOS_ENDPOINT: store.endpoint,
        CHAOS_COSMOS_KEY: store.key,
        CHAOS_DATABASE: databaseId,
        CHAOS_REDIS_URL: redis.url,
        CHAOS_REDIS_PREFIX: prefix,
        CHAOS_INVOCATION_LOG: join(logDir, 'invocations.log'),
        CHAOS_LOG_LEVEL: o.logLevel,
      },
      serviceEnv: {
        BROKER_CONFIG: configPath,
        REDIS_URL: redis.url,
        COSMOS_ENDPOINT: storeProxy.url,
        COSMOS_KEY: store.key,
        COSMOS_DATABASE: databaseId,
        LOG_LEVEL: o.logLevel,
        CHAOS_UPSTREAM_SECRET: secrets.upstream,
        CHAOS_CALLBACK_SECRET: secrets.callback,
        ...(o.salesforce ? { CHAOS_SALESFORCE_SECRET: o.salesforce.clientSecret } : {}),
      },
    });
    try {
      // In parallel: on a busy machine each child takes seconds to load; none needs another to start.
      await Promise.all([
        stack.startMcp(),
        spawnChild({
          name: 'ingress',
          entry: '../broker/ingress-main.ts',
          env: { ...stack.#serviceEnv, HOST: '127.0.0.1', PORT: '0' },
          logDir,
        }).then((ingress) => {
          stack.ingress = stack.#track(ingress);
        }),
        ...Array.from({ length: o.workers }, () => stack.startWorker()),
      ]);
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  get ingressUrl(): string {
    return this.ingress!.info.url as string;
  }

  #track(child: BenchChild): BenchChild {
    this.#children.push(child);
    return child;
  }

  async startMcp(): Promise<void> {
    this.mcp = this.#track(
      await spawnChild({
        name: `mcp-${this.#children.filter((c) => c.name.startsWith('mcp')).length}`,
        entry: '../../chaos/mcp-server-main.ts',
        env: this.#mcpEnv,
        logDir: this.logDir,
      }),
    );
  }

  async killMcp(): Promise<void> {
    if (this.mcp) await killChild(this.mcp);
    this.mcp = undefined;
  }

  async startWorker(): Promise<BenchChild> {
    const n = this.workerStarts++;
    const healthPort = await freePort();
    const worker = this.#track(
      await spawnChild({
        name: `worker-${n}`,
        entry: '../broker/worker-main.ts',
        env: {
          ...this.#serviceEnv,
          HEALTH_PORT: String(healthPort),
          ...CHAOS_WORKER_SETTINGS,
          ...(this.#o.salesforce ? { SALESFORCE_EVENTS: 'true', SALESFORCE_LEASE_TTL_MS: '3000' } : {}),
          ...this.#o.extraWorkerEnv,
        },
        logDir: this.logDir,
      }),
    );
    this.workers.push(worker);
    this.#healthPorts.set(worker, healthPort);
    return worker;
  }

  /** GET /readyz of a running worker: its status and how long the answer took (status 0: none within 5 s). */
  async workerReadiness(worker = this.workers[0]): Promise<{ status: number; ms: number; body: string }> {
    const port = worker && this.#healthPorts.get(worker);
    const t0 = performance.now();
    if (!port) return { status: 0, ms: 0, body: 'no worker running' };
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, ms: Math.round(performance.now() - t0), body: (await res.text()).slice(0, 200) };
    } catch (err) {
      return { status: 0, ms: Math.round(performance.now() - t0), body: (err as Error).message };
    }
  }

  /**
   * Starts a worker without waiting for it (a replacement takes seconds to load on a busy machine,
   * and the next fault must not wait for it); close() waits for it.
   */
  startWorkerInBackground(): void {
    const starting = this.startWorker().then(
      () => {},
      (err: unknown) => this.#o.log(`a replacement worker did not start: ${(err as Error).message}`),
    );
    this.#starting.add(starting);
    void starting.finally(() => this.#starting.delete(starting));
  }

  /** Resolves once every worker started in the background is up (or failed to start). */
  async workersStarted(): Promise<void> {
    while (this.#starting.size) await Promise.allSettled([...this.#starting]);
  }

  /** SIGKILLs one running worker (the oldest); resolves once it has exited. */
  /** Resolves once a worker's connector holds a streaming client (events published before are replayed anyway). */
  async salesforceSubscribed(timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.#o.salesforce && this.#o.salesforce.streamingClientCount() === 0) {
      if (performance.now() > deadline) throw new Error('no worker subscribed to the Salesforce channel');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** False when no worker was running. */
  async killWorker(worker = this.workers[0]): Promise<boolean> {
    if (!worker) return false;
    this.workers = this.workers.filter((w) => w !== worker);
    await killChild(worker);
    return true;
  }

  async close(): Promise<void> {
    await this.workersStarted();
    await Promise.allSettled(this.#children.map((c) => c.stop(5_000)));
    await this.storeProxy.close().catch(() => {});
    await this.receiver.close().catch(() => {});
    await this.oauth.close().catch(() => {});
    await this.redis.kill().catch(() => {});
  }
}

/** SIGKILL, then wait until the process is gone (a stop() after the kill only awaits the exit). */
async function killChild(child: BenchChild): Promise<void> {
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await child.stop(1_000);
}

import { randomUUID } from 'node:crypto';
import {
  type ArgumentValidator,
  BrokerQueues,
  ToolCallIntake,
  ToolCallRepository,
  WriteBackPolicy,
} from '@mcp-broker/broker';
import { type CallerConfig, callerSchema, hashPassword } from '@mcp-broker/broker-config';
import { createLogger } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildIngressApp, type IngressAppOptions } from '../src/app.ts';
import { CallerAuthenticator, type CallerAuthenticatorOptions } from '../src/caller-authenticator.ts';
import { ToolCallService } from '../src/tool-call-service.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Basic credentials of the test callers: `admin` (an admin) and `apex`. */
export const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface IngressUnderTest {
  app: FastifyInstance;
  store: Store;
  redis: Redis;
  queues: BrokerQueues;
  repository: ToolCallRepository;
  prefix: string;
  callers: { admin: CallerConfig; apex: CallerConfig; operator: CallerConfig };
  close(): Promise<void>;
}

/**
 * The real ingress app (routes, auth, intake, repository, queues) over the embedded store and real
 * Redis; only the endpoint's tool list is replaced, by a validator that accepts any arguments,
 * since no MCP endpoint runs here.
 */
export async function ingressUnderTest(
  options: {
    redisUrl?: string;
    app?: Partial<Pick<IngressAppOptions, 'maxJsonDepth' | 'bodyLimit'>>;
    auth?: CallerAuthenticatorOptions;
    /** Hash the test callers' passwords with the production scrypt cost (benchmarks), not a cheap one. */
    strongHashes?: boolean;
    /** Stands in for the endpoint's tool list; default: every tool exists and takes any arguments. */
    validator?: ArgumentValidator;
    /** The `apex` caller's allowlist; default `*`. */
    apexTools?: string[];
    /** Serve the queue dashboard over every caller's queue and the write-backs. */
    queueDashboard?: boolean;
  } = {},
): Promise<IngressUnderTest> {
  const store = await createStore({ databaseId: `ingress-${randomUUID()}` });
  const redis = new Redis(options.redisUrl ?? REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const prefix = `ingress-test:${randomUUID()}:`;
  const queues = new BrokerQueues({ connection: redis, prefix });
  const repository = new ToolCallRepository({ store });
  const cheap = options.strongHashes ? { N: 16384, r: 8, p: 1 } : { N: 1024, r: 8, p: 1 };
  const make = async (id: string, admin: boolean, password: string, tools = ['*'], queueActions = false) =>
    callerSchema.parse({
      id,
      admin,
      queueActions,
      auth: { type: 'basic', username: id, passwordHash: await hashPassword(password, cheap) },
      upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://x/.default' } },
      tools,
      callbackHosts: ['hooks.example.com'],
      callbackSigningSecret: { fromEnv: 'TEST_CALLBACK_SECRET' },
    });
  const callers = {
    admin: await make('admin', true, 'admin-password'),
    apex: await make('apex', false, 'apex-password', options.apexTools),
    // An admin that may also act on the queue dashboard.
    operator: await make('operator', true, 'operator-password', ['*'], true),
  };
  const all = [callers.admin, callers.apex, callers.operator];
  const service = new ToolCallService({
    repository,
    queues,
    redis,
    prefix,
    intake: new ToolCallIntake({
      repository,
      queues,
      redis,
      prefix,
      validator: options.validator ?? { validate: async () => ({ kind: 'ok' }) },
      writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: [], env: { TEST_CALLBACK_SECRET: 'test-secret' } }),
    }),
  });
  const app = await buildIngressApp({
    logger: createLogger({ name: 'ingress-test', level: process.env.TEST_LOG ?? 'silent' }),
    service,
    authenticator: new CallerAuthenticator(all, options.auth ?? {}),
    publicUrl: 'https://broker.example.com',
    ...(options.queueDashboard
      ? {
          queueDashboard: {
            queues: [...all.map((c) => queues.toolCallQueue(c.id)), queues.writeBackQueue()],
            callers: all,
          },
        }
      : {}),
    ...options.app,
  });
  return {
    app,
    store,
    redis,
    queues,
    repository,
    prefix,
    callers,
    async close() {
      await app.close();
      await queues.close();
      redis.disconnect();
      await store.close();
    },
  };
}

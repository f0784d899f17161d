/**
 * Test support: the real broker core intake (records in the embedded Cosmos-compatible store,
 * jobs in BullMQ on real Redis) that the Event Grid sources hand their calls to. Only the
 * endpoint's tool list is stood in for, by a validator that knows a fixed set of tools, since no MCP
 * endpoint runs here. Not exported from the package.
 */
import { randomUUID } from 'node:crypto';
import { BrokerQueues, ToolCallIntake, ToolCallRepository, WriteBackPolicy } from '@mcp-broker/broker';
import { type CallerConfig, callerSchema } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Tools the stand-in tool list offers; anything else is `BROKER_TOOL_NOT_FOUND`. */
export const KNOWN_TOOLS = ['generate_contract', 'analyze_sales_data'];

export interface CoreUnderTest {
  intake: ToolCallIntake;
  repository: ToolCallRepository;
  queues: BrokerQueues;
  store: Store;
  redis: Redis;
  prefix: string;
  caller: CallerConfig;
  /** Every call recorded for the caller. */
  calls(): Promise<ToolCallRecord[]>;
  /** Jobs queued for the caller (waiting, delayed, active), i.e. calls that will run. */
  queuedJobs(): Promise<number>;
  close(): Promise<void>;
}

export async function coreUnderTest(options: { tools?: string[] } = {}): Promise<CoreUnderTest> {
  const store = await createStore({ databaseId: `event-grid-${randomUUID()}` });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const prefix = `event-grid-test:${randomUUID()}:`;
  const queues = new BrokerQueues({ connection: redis, prefix });
  const repository = new ToolCallRepository({ store });
  const caller = callerSchema.parse({
    id: 'orders-app',
    auth: { type: 'basic', username: 'orders-app', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
    upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://x/.default' } },
    tools: options.tools ?? ['generate_contract'],
  });
  const intake = new ToolCallIntake({
    repository,
    queues,
    redis,
    prefix,
    validator: {
      validate: async (_caller, tool) => (KNOWN_TOOLS.includes(tool) ? { kind: 'ok' } : { kind: 'unknown_tool' }),
    },
    // The topics the tests' targets name, open to the test caller, as eventGrid.topics would make them.
    writeBackPolicy: new WriteBackPolicy({
      salesforceOrgs: [],
      env: {},
      eventGridTopics: ['results', 'contract', 'requests'].map((id) => ({ id, callers: [caller.id] })),
    }),
  });
  return {
    intake,
    repository,
    queues,
    store,
    redis,
    prefix,
    caller,
    async calls() {
      return (await repository.list(caller.id, { limit: 100 })).items;
    },
    async queuedJobs() {
      const counts = await queues.toolCallQueue(caller.id).getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      return Object.values(counts).reduce((sum, n) => sum + n, 0);
    },
    async close() {
      await queues.close();
      redis.disconnect();
      await store.close();
    },
  };
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs` (never a timing assertion). */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Log lines the sources write, kept for assertions. */
export function recordingLogger() {
  const lines: { level: 'info' | 'warn'; facts: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    info: (facts: Record<string, unknown>, message: string) => lines.push({ level: 'info', facts, message }),
    warn: (facts: Record<string, unknown>, message: string) => lines.push({ level: 'warn', facts, message }),
  };
}

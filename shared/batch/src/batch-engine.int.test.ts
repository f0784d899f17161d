import { randomUUID } from 'node:crypto';
import { BrokerQueues, ToolCallRepository } from '@mcp-broker/broker';
import { brokerConfigSchema } from '@mcp-broker/broker-config';
import type { ToolCatalog } from '@mcp-broker/mcp-client';
import { OrgConnections } from '@mcp-broker/salesforce';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchEngine } from './batch-engine.ts';
import { scheduleSchedulerId } from './batch-queue.ts';

const prefix = `batch-engine:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;

const broker = brokerConfigSchema.parse({
  endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
  callers: [
    {
      id: 'acme',
      auth: { type: 'basic', username: 'acme', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
      upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://x/.default' } },
      tools: ['*'],
    },
  ],
  schedules: [
    {
      id: 'nightly',
      cron: '0 2 * * *',
      timeZone: 'Europe/Paris',
      caller: 'acme',
      source: { type: 'cosmos-query', container: 'accounts', query: 'SELECT * FROM c' },
      tool: 'next_best_action',
      arguments: '{ "account_id": id }',
    },
    {
      id: 'hourly-off',
      enabled: false,
      everySeconds: 3600,
      caller: 'acme',
      source: { type: 'cosmos-query', container: 'accounts', query: 'SELECT * FROM c' },
      tool: 'next_best_action',
      arguments: '{ "account_id": id }',
    },
  ],
});

const catalog = (find: ToolCatalog['find']) => ({ find }) as unknown as ToolCatalog;

function engine(options: { catalog?: ToolCatalog; schedules?: typeof broker.schedules } = {}) {
  return new BatchEngine({
    schedules: options.schedules ?? broker.schedules,
    callers: broker.callers,
    redis,
    prefix,
    store,
    intake: { accept: async () => ({ outcome: 'refused', reason: { code: 'X', message: 'unused' } }) },
    queues,
    repository: new ToolCallRepository({ store }),
    orgs: new OrgConnections({ orgs: [], env: {} }),
    ...(options.catalog ? { catalog: options.catalog } : {}),
    logger: pino({ level: 'silent' }),
  });
}

beforeAll(async () => {
  store = await createStore({ databaseId: `batch-engine-${randomUUID()}` });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix });
});
afterAll(async () => {
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await store.close();
});

describe('batch engine start', () => {
  it("stops the start naming the schedule when the endpoint's catalog lacks its tool", async () => {
    const e = engine({ catalog: catalog(async () => undefined) });
    await expect(e.checkTools()).rejects.toThrow(
      'schedules: schedule "nightly": tool: endpoint "local" offers no tool "next_best_action" to caller "acme".',
    );
    await e.close();
  });

  it('starts anyway when the catalog cannot be read now (the calls will say so)', async () => {
    const e = engine({
      catalog: catalog(async () => {
        throw new Error('connect ECONNREFUSED');
      }),
    });
    await expect(e.checkTools()).resolves.toBeUndefined();
    await e.close();
  });

  it('registers one BullMQ job scheduler per enabled schedule, in its time zone, and removes the others', async () => {
    const e = engine({ catalog: catalog(async () => ({ name: 'next_best_action' }) as never) });
    await e.start();
    const nightly = await e.queue.queue.getJobScheduler(scheduleSchedulerId('nightly'));
    expect(nightly).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Paris' });
    expect(new Date(nightly?.next ?? 0).getTime()).toBeGreaterThan(Date.now());
    expect(await e.queue.hasSchedule('hourly-off')).toBe(false);
    await e.close();
    // A changed cron replaces the scheduler at the next start.
    const changed = engine({
      schedules: [{ ...(broker.schedules[0] as (typeof broker.schedules)[0]), cron: '30 3 * * *' }],
    });
    await changed.start();
    expect(await changed.queue.queue.getJobScheduler(scheduleSchedulerId('nightly'))).toMatchObject({
      pattern: '30 3 * * *',
    });
    await changed.close();
    // A schedule left out of the configuration later loses its scheduler at the next start.
    const without = engine({ schedules: [] });
    await without.start();
    expect(await without.queue.hasSchedule('nightly')).toBe(false);
    await without.close();
  });

  it('queues again a run still going whose job Redis lost, at the next registration', async () => {
    const e = engine({ catalog: catalog(async () => ({ name: 'next_best_action' }) as never) });
    const { run } = await e.runs.create({
      id: `br_${'0'.repeat(31)}1`,
      schedule: 'nightly',
      caller: 'acme',
      startedBy: 'api',
      startKey: 'lost-job',
    });
    expect(await e.queue.queue.getJobState(run.id)).toBe('unknown');
    await e.checkTools();
    // start() registers, which finds the run without a job; the worker then takes it.
    await e.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await e.queue.queue.getJobState(run.id)).not.toBe('unknown');
    await e.close();
  });
});

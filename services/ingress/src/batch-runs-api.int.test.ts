import { randomUUID } from 'node:crypto';
import { BatchQueue, BatchRunRepository, BatchRunService } from '@mcp-broker/batch';
import { BrokerQueues, ToolCallIntake, ToolCallRepository, WriteBackPolicy } from '@mcp-broker/broker';
import { brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';
import { createLogger } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngressApp } from './app.ts';
import { CallerAuthenticator } from './caller-authenticator.ts';
import { ToolCallService } from './tool-call-service.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `batch-api:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let app: FastifyInstance;
let queues: BrokerQueues;
let batchQueue: BatchQueue;
const auth = (id: string) => `Basic ${Buffer.from(`${id}:${id}-password`).toString('base64')}`;

beforeAll(async () => {
  store = await createStore({ databaseId: `batch-api-${randomUUID()}` });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const caller = async (id: string) => ({
    id,
    auth: { type: 'basic', username: id, passwordHash: await hashPassword(`${id}-password`, { N: 1024, r: 8, p: 1 }) },
    upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://x/.default' } },
    tools: ['*'],
  });
  const schedule = (id: string, callerId: string, over: Record<string, unknown> = {}) => ({
    id,
    caller: callerId,
    cron: '0 2 * * *',
    timeZone: 'Europe/Paris',
    source: { type: 'cosmos-query', container: 'accounts', query: 'SELECT * FROM c' },
    tool: 'next_best_action',
    arguments: '{ "account_id": id }',
    concurrency: 1,
    ...over,
  });
  const broker = brokerConfigSchema.parse({
    endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
    callers: [await caller('acme'), await caller('other')],
    schedules: [
      schedule('acme-nightly', 'acme'),
      schedule('acme-off', 'acme', { enabled: false }),
      schedule('acme-waits', 'acme', { overlap: 'wait', cron: undefined, everySeconds: 3600 }),
      schedule('other-nightly', 'other'),
    ],
  });
  queues = new BrokerQueues({ connection: redis, prefix });
  const repository = new ToolCallRepository({ store });
  batchQueue = new BatchQueue({ connection: redis, prefix });
  for (const s of broker.schedules) if (s.enabled) await batchQueue.upsertSchedule(s);
  app = await buildIngressApp({
    logger: createLogger({ name: 'batch-api-test', level: 'silent' }),
    service: new ToolCallService({
      repository,
      queues,
      redis,
      prefix,
      intake: new ToolCallIntake({
        repository,
        queues,
        redis,
        prefix,
        validator: { validate: async () => ({ kind: 'ok' }) },
        writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: [], env: {} }),
      }),
    }),
    batch: new BatchRunService({
      schedules: broker.schedules,
      runs: new BatchRunRepository({ store }),
      queue: batchQueue,
    }),
    authenticator: new CallerAuthenticator(broker.callers),
    publicUrl: 'https://broker.example.com',
  });
});
afterAll(async () => {
  await app?.close();
  await batchQueue?.close();
  await queues?.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis?.disconnect();
  await store?.close();
});

const start = (schedule: string, caller = 'acme', key: string | null = randomUUID()) =>
  app.inject({
    method: 'POST',
    url: `/v1/schedules/${schedule}/runs`,
    headers: { authorization: auth(caller), ...(key ? { 'idempotency-key': key } : {}) },
  });

describe('batch API: refusals', () => {
  it('answers 401 without credentials', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/schedules' })).statusCode).toBe(401);
  });

  it("answers 404 for another caller's schedule, the same as for one that does not exist", async () => {
    const theirs = await start('other-nightly', 'acme');
    const none = await start('no-such-schedule', 'acme');
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json()).toMatchObject({
      error: { code: 'BROKER_SCHEDULE_NOT_FOUND', message: 'No schedule "other-nightly" for this caller.' },
    });
    expect(none.json().error.code).toBe('BROKER_SCHEDULE_NOT_FOUND');
    expect(theirs.json().error.requestId).toBeDefined();
  });

  it("answers 404 for another caller's run, and for a malformed id", async () => {
    const started = await start('other-nightly', 'other');
    expect(started.statusCode).toBe(202);
    const { id } = started.json();
    const asAcme = await app.inject({
      method: 'GET',
      url: `/v1/batch-runs/${id}`,
      headers: { authorization: auth('acme') },
    });
    expect(asAcme.statusCode).toBe(404);
    expect(asAcme.json().error.code).toBe('BROKER_BATCH_RUN_NOT_FOUND');
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/batch-runs/${id}/cancel`,
      headers: { authorization: auth('acme') },
    });
    expect(cancel.statusCode).toBe(404);
    const asOther = await app.inject({
      method: 'GET',
      url: `/v1/batch-runs/${id}`,
      headers: { authorization: auth('other') },
    });
    expect(asOther.statusCode).toBe(200);
    const bad = await app.inject({
      method: 'GET',
      url: '/v1/batch-runs/%00..%2F',
      headers: { authorization: auth('acme') },
    });
    expect(bad.statusCode).toBe(404);
  });

  it('refuses a start without an Idempotency-Key, naming it', async () => {
    const res = await start('acme-nightly', 'acme', null);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BROKER_IDEMPOTENCY_KEY_MISSING');
  });

  it('refuses to start a disabled schedule with 409', async () => {
    const res = await start('acme-off');
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('BROKER_SCHEDULE_DISABLED');
  });
});

describe('batch API: runs', () => {
  it('starts a run once per Idempotency-Key (202, then 200 with the same run)', async () => {
    const key = randomUUID();
    const first = await start('acme-nightly', 'acme', key);
    expect(first.statusCode).toBe(202);
    expect(first.headers.location).toBe(first.json().statusUrl);
    const again = await start('acme-nightly', 'acme', key);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    // The key also travels in the body, for clients that cannot send the header.
    const view = await app.inject({
      method: 'GET',
      url: `/v1/batch-runs/${first.json().id}`,
      headers: { authorization: auth('acme') },
    });
    expect(view.json()).toMatchObject({ status: 'queued', phase: 'selecting', progress: 0, startedBy: 'api' });
  });

  it('refuses a second start while a run is going (overlap skip), naming the run', async () => {
    const busy = await start('acme-nightly');
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error).toMatchObject({ code: 'BROKER_SCHEDULE_BUSY' });
    expect(busy.json().error.message).toMatch(/^Run br_[0-9a-f]{32} of schedule "acme-nightly" is still waiting/);
  });

  it('with overlap wait, queues one run behind the one going, not more', async () => {
    const body = (key: string) => ({
      method: 'POST' as const,
      url: '/v1/schedules/acme-waits/runs',
      headers: { authorization: auth('acme'), 'content-type': 'application/json' },
      payload: { idempotencyKey: key },
    });
    expect((await app.inject(body(randomUUID()))).statusCode).toBe(202);
    expect((await app.inject(body(randomUUID()))).statusCode).toBe(409);
  });

  it('cancels a run that has not started at once, and then answers 409', async () => {
    // The run left waiting by the test before.
    const list = await app.inject({ method: 'GET', url: '/v1/schedules', headers: { authorization: auth('acme') } });
    const waiting = list.json().items.find((s: { id: string }) => s.id === 'acme-waits').lastRun;
    expect(waiting.status).toBe('queued');
    const id = waiting.id as string;
    const cancelled = await app.inject({
      method: 'POST',
      url: `/v1/batch-runs/${id}/cancel`,
      headers: { authorization: auth('acme') },
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', error: { code: 'BATCH_RUN_CANCELLED' } });
    const again = await app.inject({
      method: 'POST',
      url: `/v1/batch-runs/${id}/cancel`,
      headers: { authorization: auth('acme') },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('BROKER_BATCH_RUN_FINAL');
  });

  it("lists only the caller's own schedules, with the next tick and the last run", async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/schedules', headers: { authorization: auth('acme') } });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<Record<string, unknown>>;
    expect(items.map((s) => s.id)).toEqual(['acme-nightly', 'acme-off', 'acme-waits']);
    const nightly = items[0] as { nextRunAt: string; lastRun: { status: string } };
    expect(Date.parse(nightly.nextRunAt)).toBeGreaterThan(Date.now());
    expect(nightly.lastRun.status).toBe('queued');
    expect(items[1]).not.toHaveProperty('nextRunAt');
  });

  it('puts the batch operations in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/schedules',
        '/v1/schedules/{id}/runs',
        '/v1/batch-runs/{id}',
        '/v1/batch-runs/{id}/cancel',
      ]),
    );
  });
});

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BrokerQueues,
  backoffDelay,
  bullPrefix,
  HttpCallbackHandler,
  SIGNATURE_HEADER,
  ToolCallRepository,
  WRITE_BACK_QUEUE,
  WriteBackDelivery,
  writeBackJobId,
} from '@mcp-broker/broker';
import type { Delivery, ToolCallRecord, WriteBackJob } from '@mcp-broker/contracts';
import { createStore, type Store } from '@mcp-broker/store';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBackProcessor } from './write-back-job.ts';

/**
 * The write-back job as the worker runs it: a BullMQ worker on real Redis, the record in the
 * embedded store, the real http-callback handler, and a receiver on a local port that answers as
 * each test scripts it. The tool is never involved: the record is already final.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `wb-job-test:${randomUUID()}:`;
const ATTEMPTS = 3;
const retry = { writeBackAttempts: ATTEMPTS, baseDelayMs: 10, maxDelayMs: 50 };

let store: Store;
let redis: Redis;
let workerRedis: Redis;
let queues: BrokerQueues;
let repository: ToolCallRepository;
let worker: Worker<WriteBackJob>;
let receiver: Server;
let base: string;
/** Per path: the statuses to answer, in order (the last repeats), and the requests received. */
const script = new Map<
  string,
  { statuses: { status: number; headers?: Record<string, string> }[]; got: IncomingMessage['headers'][] }
>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const entry = script.get(req.url ?? '');
      if (!entry) return res.writeHead(404).end();
      entry.got.push(req.headers);
      const next = entry.statuses.length > 1 ? entry.statuses.shift() : entry.statuses[0];
      res.writeHead(next?.status ?? 200, next?.headers ?? {}).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  store = await createStore({ databaseId: `wb-job-${randomUUID()}` });
  redis = new Redis(REDIS_URL);
  workerRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix, retry });
  repository = new ToolCallRepository({ store });
  const logger = pino({ level: 'silent' });
  const delivery = new WriteBackDelivery({
    repository,
    queues,
    logger,
    handlers: [
      new HttpCallbackHandler({
        policyFor: () => ({ hosts: [new URL(base).host], allowPrivate: true }),
        secretFor: () => 'signing-secret-for-tests',
      }),
    ],
  });
  worker = new Worker<WriteBackJob>(WRITE_BACK_QUEUE, writeBackProcessor({ repository, delivery, logger }), {
    connection: workerRedis,
    prefix: bullPrefix(prefix),
    settings: {
      backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, { ...retry, toolCallAttempts: 1 }),
    },
  });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await queues?.close();
  const keys = await redis.keys(`${bullPrefix(prefix)}*`);
  if (keys.length) await redis.del(...keys);
  redis?.disconnect();
  workerRedis?.disconnect();
  await store?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

/** A call that succeeded, with one http-callback target at `path`, stored as the worker left it. */
async function finishedCall(path: string, delivery: Partial<Delivery> = {}): Promise<ToolCallRecord> {
  const now = new Date().toISOString();
  const id = `tc_${randomUUID().replaceAll('-', '').padEnd(40, '0').slice(0, 40)}`;
  const record: ToolCallRecord = {
    id,
    caller: 'caller-a',
    endpoint: 'local',
    tool: 'echo',
    fingerprint: 'f',
    idempotencyKey: randomUUID(),
    arguments: {},
    source: { kind: 'api' },
    correlation: { requestId: `req-${id}` },
    status: 'succeeded',
    history: [
      { status: 'queued', at: now },
      { status: 'succeeded', at: now },
    ],
    result: { structuredContent: { ok: true } },
    attempts: 1,
    deliveries: [
      { target: { type: 'http-callback', url: `${base}${path}` }, status: 'pending', attempts: 0, ...delivery },
    ],
    deliveriesLeft: 1,
    createdAt: now,
    updatedAt: now,
    completedAt: now,
  };
  await store.container('toolCalls').items.create(record);
  return record;
}

async function settled(record: ToolCallRecord, ms = 15_000): Promise<Delivery> {
  const deadline = Date.now() + ms;
  for (;;) {
    const d = (await repository.get(record.caller, record.id))?.deliveries[0];
    if (d && d.status !== 'pending' && d.status !== 'attempting') return d;
    if (Date.now() > deadline) throw new Error(`delivery still ${d?.status} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function jobFinished(callId: string, ms = 10_000): Promise<unknown> {
  const queue = queues.writeBackQueue();
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await queue.getJobState(writeBackJobId(callId, 0));
    if (state === 'completed') return (await queue.getJob(writeBackJobId(callId, 0)))?.returnvalue;
    if (state === 'failed') return 'job failed';
    if (Date.now() > deadline) throw new Error(`job still ${state}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const enqueue = (record: ToolCallRecord) =>
  queues.enqueueWriteBack({ callId: record.id, caller: record.caller, target: 0 });

describe('write-back job against a receiver that fails, refuses, or was cut short', () => {
  it('retries a receiver answering 503 with backoff, the same idempotency key and a signature each time, until it takes it', async () => {
    script.set('/flaky', { statuses: [{ status: 503 }, { status: 503 }, { status: 200 }], got: [] });
    const record = await finishedCall('/flaky');
    await enqueue(record);
    const d = await settled(record);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(d.unconfirmedAttempts ?? 0).toBe(0);
    const got = script.get('/flaky')?.got ?? [];
    expect(got).toHaveLength(3);
    expect(new Set(got.map((h) => h['idempotency-key']))).toEqual(new Set([`${record.id}.wb0`]));
    for (const h of got) expect(h[SIGNATURE_HEADER.toLowerCase()]).toBeTruthy();
  });

  it('gives up after the configured attempts on a receiver that keeps failing, recording the final code', async () => {
    script.set('/down', { statuses: [{ status: 502 }], got: [] });
    const record = await finishedCall('/down');
    await enqueue(record);
    const d = await settled(record);
    expect(d).toMatchObject({ status: 'failed', attempts: ATTEMPTS, lastError: { code: 'CALLBACK_RETRYABLE_STATUS' } });
    expect(script.get('/down')?.got).toHaveLength(ATTEMPTS);
    // The call's own outcome is untouched by its delivery failing.
    expect((await repository.get(record.caller, record.id))?.status).toBe('succeeded');
  });

  it('does not retry a receiver that refuses with another 4xx', async () => {
    script.set('/refuses', { statuses: [{ status: 400 }], got: [] });
    const record = await finishedCall('/refuses');
    await enqueue(record);
    expect(await settled(record)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'CALLBACK_REFUSED' },
    });
    expect(script.get('/refuses')?.got).toHaveLength(1);
  });

  it('waits the Retry-After a receiver asks for (429) and then delivers', async () => {
    script.set('/busy', { statuses: [{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }], got: [] });
    const record = await finishedCall('/busy');
    const started = Date.now();
    await enqueue(record);
    expect(await settled(record)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('sends again a delivery found `attempting` (its worker died during the attempt) and counts that attempt as unconfirmed', async () => {
    script.set('/cut-short', { statuses: [{ status: 200 }], got: [] });
    const record = await finishedCall('/cut-short', {
      status: 'attempting',
      attempts: 1,
      attemptStartedAt: new Date(Date.now() - 60_000).toISOString(),
    });
    await enqueue(record);
    expect(await settled(record)).toMatchObject({ status: 'delivered', attempts: 2, unconfirmedAttempts: 1 });
    expect(script.get('/cut-short')?.got).toHaveLength(1);
  });

  it('sends nothing for a delivery already delivered, and drops a job whose call is gone', async () => {
    script.set('/done', { statuses: [{ status: 200 }], got: [] });
    const record = await finishedCall('/done', {
      status: 'delivered',
      attempts: 1,
      deliveredAt: new Date().toISOString(),
    });
    await enqueue(record);
    expect(await jobFinished(record.id)).toBe('delivered');
    expect(script.get('/done')?.got).toHaveLength(0);

    const gone = `tc_${'0'.repeat(39)}1`;
    await queues.enqueueWriteBack({ callId: gone, caller: 'caller-a', target: 0 });
    expect(await jobFinished(gone)).toBe('missing');
  });
});

/**
 * The service-bus write-back target through the broker's real delivery bookkeeping
 * (WriteBackDelivery on the embedded Cosmos store) and the real SDK against the peer: what a
 * subscriber receives, a transient failure left pending for the write-back queue, final failures
 * recorded with their SERVICE_BUS_* code.
 */

import { randomUUID } from 'node:crypto';
import { ServiceBusClient } from '@azure/service-bus';
import { BrokerQueues, lifecycle, ToolCallRepository, WriteBackDelivery } from '@mcp-broker/broker';
import { type BrokerConfig, brokerConfigSchema } from '@mcp-broker/broker-config';
import { serviceBusOutcomeMessageSchema, type ToolCallRecord, type WriteBackTarget } from '@mcp-broker/contracts';
import { ServiceBusPeer } from '@mcp-broker/service-bus-peer';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceBusClients } from './service-bus-clients.ts';
import { ServiceBusTargetHandler } from './service-bus-target-handler.ts';

const prefix = `sb-target:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let repository: ToolCallRepository;
let peer: ServiceBusPeer;
let smallPeer: ServiceBusPeer;
const closers: (() => Promise<unknown>)[] = [];

function config(): BrokerConfig {
  const callers = ['acme', 'other'].map((id) => ({
    id,
    auth: { type: 'basic', username: id, passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
    upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://mcp/.default' } },
    tools: ['*'],
  }));
  const namespace = (id: string, env: string) => ({
    id,
    credential: { type: 'connection-string', connectionString: { fromEnv: env } },
  });
  return brokerConfigSchema.parse({
    endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
    callers,
    serviceBus: {
      namespaces: [namespace('local', 'SB_LOCAL'), namespace('badkey', 'SB_BADKEY'), namespace('small', 'SB_SMALL')],
      targets: [
        { id: 'results', namespace: 'local', topic: 'results', callers: ['acme'], inlineResultMaxBytes: 64 },
        { id: 'outbox', namespace: 'local', queue: 'outbox', callers: ['acme'] },
        { id: 'gone', namespace: 'local', queue: 'deleted-queue', callers: ['acme'] },
        { id: 'denied', namespace: 'badkey', queue: 'outbox', callers: ['acme'] },
        { id: 'tiny', namespace: 'small', queue: 'outbox', callers: ['acme'], inlineResultMaxBytes: 200_000 },
      ],
    },
  });
}

let delivery: WriteBackDelivery;

beforeAll(async () => {
  store = await createStore({ databaseId: `sb-target-${randomUUID()}` });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix });
  repository = new ToolCallRepository({ store });
  peer = await ServiceBusPeer.start({
    queues: { outbox: { duplicateDetectionWindowMs: 600_000 } },
    topics: {
      results: {
        duplicateDetectionWindowMs: 600_000,
        subscriptions: {
          all: {},
          failures: { filter: (message) => message.application_properties?.status === 'failed' },
        },
      },
    },
  });
  smallPeer = await ServiceBusPeer.start({ queues: { outbox: {} }, maxMessageSizeBytes: 2_048 });
  const clients = new ServiceBusClients({
    namespaces: config().serviceBus.namespaces,
    env: {
      SB_LOCAL: peer.connectionString(),
      SB_BADKEY: peer.connectionString(undefined, Buffer.from('not the key').toString('base64')),
      SB_SMALL: smallPeer.connectionString(),
    },
    clientOptions: { retryOptions: { timeoutInMs: 5_000 } },
  });
  const handler = new ServiceBusTargetHandler({ targets: config().serviceBus.targets, clients });
  closers.push(
    () => handler.close(),
    () => clients.close(),
  );
  delivery = new WriteBackDelivery({ repository, queues, handlers: [handler], logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  for (const close of closers) await close();
  await peer?.close();
  await smallPeer?.close();
  await queues?.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await store?.close();
});

/** A call of `caller` that finished with `result`, whose one delivery is the given target. */
async function finishedCall(target: WriteBackTarget, result: unknown, caller = 'acme'): Promise<ToolCallRecord> {
  const created = await repository.create(caller, 'local', {
    tool: 'generate_contract',
    arguments: { opportunity_id: 'opp-1' },
    writeBack: [target],
    idempotencyKey: randomUUID(),
    source: { kind: 'api' },
    correlation: { requestId: `req-${randomUUID()}` },
  });
  const started = await repository.apply(caller, created.record.id, (current, now) => lifecycle.start(current, now));
  const done = await repository.apply(caller, created.record.id, (current, now) =>
    lifecycle.succeed(current, now, result),
  );
  if (!started?.changed || !done?.record) throw new Error('could not finish the call');
  return done.record;
}

/** One claimed attempt at the record's delivery 0, stored as the write-back job stores it. */
async function attemptOnce(record: ToolCallRecord, lastAttempt = false) {
  const claimed = await delivery.claim(record, 0);
  if (!claimed) throw new Error('nothing to claim');
  const outcome = await delivery.attempt(claimed, 0, 10_000, lastAttempt);
  const stored = await delivery.store(claimed, new Map([[0, outcome]]));
  return { outcome, record: stored ?? claimed };
}

async function receiveAll(entity: string, subscription?: string, from = peer) {
  const client = new ServiceBusClient(from.connectionString());
  closers.push(() => client.close());
  const receiver = subscription ? client.createReceiver(entity, subscription) : client.createReceiver(entity);
  const messages = await receiver.receiveMessages(10, { maxWaitTimeInMs: 1_000 });
  for (const message of messages) await receiver.completeMessage(message);
  return messages;
}

describe('service-bus target: final failures are recorded', () => {
  it('an entity that does not exist: SERVICE_BUS_ENTITY_NOT_FOUND, failed at once', async () => {
    const record = await finishedCall({ type: 'service-bus', destination: 'gone' }, { ok: true });
    const { outcome, record: after } = await attemptOnce(record);
    expect(outcome.status).toBe('failed');
    expect(after.deliveries[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'SERVICE_BUS_ENTITY_NOT_FOUND', message: expect.stringContaining('deleted-queue') },
    });
  });

  it('a refused credential (wrong key): SERVICE_BUS_UNAUTHORIZED, and nothing is sent', async () => {
    const before = peer.entity('outbox').messages().length;
    const record = await finishedCall({ type: 'service-bus', destination: 'denied' }, { ok: true });
    const { record: after } = await attemptOnce(record);
    expect(after.deliveries[0]).toMatchObject({ status: 'failed', lastError: { code: 'SERVICE_BUS_UNAUTHORIZED' } });
    expect(after.deliveries[0]?.lastError?.message).not.toContain('SharedAccessKey');
    expect(peer.entity('outbox').messages()).toHaveLength(before);
  });

  it('an outcome over the entity limit: SERVICE_BUS_MESSAGE_TOO_LARGE', async () => {
    const record = await finishedCall({ type: 'service-bus', destination: 'tiny' }, { text: 'x'.repeat(10_000) });
    const { record: after } = await attemptOnce(record);
    expect(after.deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: { code: 'SERVICE_BUS_MESSAGE_TOO_LARGE' },
    });
    expect(smallPeer.entity('outbox').messages()).toHaveLength(0);
  });

  it("a target not open to the call's caller: SERVICE_BUS_TARGET_NOT_ALLOWED, nothing sent", async () => {
    const before = peer.entity('outbox').messages().length;
    const record = await finishedCall({ type: 'service-bus', destination: 'outbox' }, { ok: true }, 'other');
    const { record: after } = await attemptOnce(record);
    expect(after.deliveries[0]).toMatchObject({
      status: 'failed',
      lastError: { code: 'SERVICE_BUS_TARGET_NOT_ALLOWED' },
    });
    expect(peer.entity('outbox').messages()).toHaveLength(before);
  });
});

describe('service-bus target: transient failures are retried', () => {
  it('ServiceBusy leaves the delivery pending (SERVICE_BUS_UNAVAILABLE); the retry delivers one message', async () => {
    await receiveAll('outbox');
    peer.failSends('outbox', { condition: 'com.microsoft:server-busy', description: 'The server is busy.' });
    const record = await finishedCall({ type: 'service-bus', destination: 'outbox' }, { ok: true });
    const first = await attemptOnce(record);
    expect(first.outcome.status).toBe('pending');
    expect(first.record.deliveries[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: { code: 'SERVICE_BUS_UNAVAILABLE', message: expect.stringContaining('ServiceBusy') },
    });
    // A busy namespace refused the message: that attempt is known not to have arrived.
    expect(first.record.deliveries[0]?.unconfirmedAttempts).toBeUndefined();
    const second = await attemptOnce(first.record);
    expect(second.record.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 2 });
    const received = await receiveAll('outbox');
    expect(received.map((m) => m.messageId)).toEqual([`${record.id}:0:0`]);
  });

  it('on the last attempt a transient failure is final and recorded', async () => {
    peer.failSends('outbox', { condition: 'com.microsoft:timeout', description: 'The operation did not complete.' });
    const record = await finishedCall({ type: 'service-bus', destination: 'outbox' }, { ok: true });
    const { record: after } = await attemptOnce(record, true);
    expect(after.deliveries[0]).toMatchObject({ status: 'failed', lastError: { code: 'SERVICE_BUS_UNAVAILABLE' } });
    expect(after.deliveries[0]?.unconfirmedAttempts).toBe(1);
  });

  it('a repeated send of one delivery (an unconfirmed attempt) is absorbed by duplicate detection', async () => {
    await receiveAll('outbox');
    const record = await finishedCall({ type: 'service-bus', destination: 'outbox' }, { ok: true });
    // Two sends of the same delivery, as after a worker died between sending and recording.
    const claimed = await delivery.claim(record, 0);
    if (!claimed) throw new Error('nothing to claim');
    expect((await delivery.attempt(claimed, 0, 10_000, false)).status).toBe('delivered');
    expect((await delivery.attempt(claimed, 0, 10_000, false)).status).toBe('delivered');
    expect((await receiveAll('outbox')).map((m) => m.messageId)).toEqual([`${record.id}:0:0`]);
    expect(peer.stats.duplicatesDropped).toBeGreaterThan(0);
  });
});

describe('service-bus target: delivery', () => {
  it('sends the outcome with messageId, correlationId, subject and properties a subscription can filter on', async () => {
    const record = await finishedCall({ type: 'service-bus', destination: 'results' }, { contract: 'C-1' });
    const { record: after } = await attemptOnce(record);
    expect(after.deliveries[0]).toMatchObject({
      status: 'delivered',
      receipt: { messageId: `${record.id}:0:0`, entity: 'results', subject: 'toolcall.succeeded' },
    });
    const [message] = await receiveAll('results', 'all');
    expect(message).toMatchObject({
      messageId: `${record.id}:0:0`,
      correlationId: record.correlation.requestId,
      subject: 'toolcall.succeeded',
      contentType: 'application/json',
      applicationProperties: { caller: 'acme', tool: 'generate_contract', status: 'succeeded', callId: record.id },
    });
    const body = serviceBusOutcomeMessageSchema.parse(message?.body);
    expect(body).toMatchObject({ callId: record.id, status: 'succeeded', result: { contract: 'C-1' } });
    // The failures-only subscription's filter on `status` kept it out.
    expect(await receiveAll('results', 'failures')).toHaveLength(0);
  });

  it('a result over inlineResultMaxBytes travels by reference; a custom subject is kept', async () => {
    const record = await finishedCall(
      { type: 'service-bus', destination: 'results', subject: 'contracts.ready' },
      { text: 'y'.repeat(500) },
    );
    await attemptOnce(record);
    const [message] = await receiveAll('results', 'all');
    expect(message?.subject).toBe('contracts.ready');
    const body = serviceBusOutcomeMessageSchema.parse(message?.body);
    expect(body.result).toBeUndefined();
    expect(body.resultOmitted).toBe(true);
  });
});

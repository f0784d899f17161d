/**
 * Service Bus in, end to end through the real SDK: the peer (AMQP 1.0, SAS on $cbs, peek-lock,
 * dead-letter sub-queues), the broker core's real intake on Redis and the embedded Cosmos store.
 * A request is one call however often it is delivered; a request that can never be accepted is
 * dead-lettered naming the problem and recorded; nothing is lost when the broker cannot accept.
 */

import { randomUUID } from 'node:crypto';
import { ServiceBusClient } from '@azure/service-bus';
import {
  type ArgumentValidator,
  BrokerQueues,
  ToolCallIntake,
  ToolCallRepository,
  WriteBackPolicy,
} from '@mcp-broker/broker';
import { type BrokerConfig, brokerConfigSchema } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { ServiceBusPeer } from '@mcp-broker/service-bus-peer';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceBusConnector } from './service-bus-connector.ts';

const prefix = `sb-source:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let intake: ToolCallIntake;
let peer: ServiceBusPeer;
const started: ServiceBusConnector[] = [];
const clients: ServiceBusClient[] = [];

// The endpoint's tool list is the catalog's concern (CatalogArgumentValidator); here two tools exist.
const validator: ArgumentValidator = {
  validate: async (_caller, tool) =>
    tool === 'generate_contract' || tool === 'delete_everything' ? { kind: 'ok' } : { kind: 'unknown_tool' },
};

function brokerConfig(queue: string, over: Record<string, unknown> = {}): BrokerConfig {
  return brokerConfigSchema.parse({
    endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
    callers: [
      {
        id: 'acme',
        auth: { type: 'basic', username: 'acme', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
        upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://mcp/.default' } },
        // no_such_tool is allowed but the endpoint does not offer it.
        tools: ['generate_contract', 'no_such_tool'],
      },
    ],
    serviceBus: {
      namespaces: [
        { id: 'local', credential: { type: 'connection-string', connectionString: { fromEnv: 'SB_CONN' } } },
      ],
      sources: [{ id: 'requests', caller: 'acme', namespace: 'local', queue, maxConcurrentCalls: 2, ...over }],
    },
  });
}

function connect(
  queue: string,
  options: {
    connectionString?: string;
    accept?: ToolCallIntake['accept'];
    source?: Record<string, unknown>;
    abandonBackoffMs?: number;
  } = {},
): ServiceBusConnector {
  const config = brokerConfig(queue, options.source);
  const connector = new ServiceBusConnector({
    config: config.serviceBus,
    callers: config.callers,
    intake: { accept: options.accept ?? ((caller, request, opts) => intake.accept(caller, request, opts)) },
    env: { SB_CONN: options.connectionString ?? peer.connectionString() },
    clientOptions: { retryOptions: { maxRetries: 1, timeoutInMs: 5_000, retryDelayInMs: 200 } },
    abandonBackoff: { baseDelayMs: options.abandonBackoffMs ?? 50, maxDelayMs: options.abandonBackoffMs ?? 100 },
  });
  started.push(connector);
  connector.start();
  return connector;
}

function sender(queue: string) {
  const client = new ServiceBusClient(peer.connectionString());
  clients.push(client);
  return client.createSender(queue);
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function recordsWithKey(key: string): Promise<ToolCallRecord[]> {
  const { resources } = await store
    .container('toolCalls')
    .items.query<ToolCallRecord>({
      query: 'SELECT * FROM c WHERE c.idempotencyKey = @k',
      parameters: [{ name: '@k', value: key }],
    })
    .fetchAll();
  return resources;
}

async function jobsFor(callId: string): Promise<number> {
  const jobs = await queues.toolCallQueue('acme').getJobs(['waiting', 'delayed', 'prioritized', 'active']);
  return jobs.filter((job) => job.data.callId === callId).length;
}

async function deadLetters(queue: string) {
  const client = new ServiceBusClient(peer.connectionString());
  clients.push(client);
  return client.createReceiver(queue, { subQueueType: 'deadLetter' }).receiveMessages(10, { maxWaitTimeInMs: 1_000 });
}

const queues_ = ['malformed', 'refused', 'badkey', 'dupes', 'killed', 'slow', 'outage', 'happy', 'prop', 'shutdown'];

beforeAll(async () => {
  store = await createStore({ databaseId: `sb-source-${randomUUID()}` });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix });
  const repository = new ToolCallRepository({ store });
  const writeBackPolicy = new WriteBackPolicy({ salesforceOrgs: [], env: {} });
  intake = new ToolCallIntake({ repository, queues, redis, prefix, validator, writeBackPolicy });
  peer = await ServiceBusPeer.start({
    queues: Object.fromEntries(
      queues_.map((name) => [name, { lockDurationMs: name === 'killed' || name === 'slow' ? 1_200 : 30_000 }]),
    ),
  });
});

afterEach(async () => {
  for (const connector of started.splice(0)) await connector.close();
  for (const client of clients.splice(0)) await client.close().catch(() => {});
});

afterAll(async () => {
  await peer?.close();
  await queues?.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await store?.close();
});

describe('Service Bus source: requests that can never be accepted', () => {
  it.each([
    ['not JSON', 'this is not json', 'body: not JSON'],
    ['no tool', { arguments: {} }, 'tool:'],
    ['arguments not an object', { tool: 'generate_contract', arguments: [1, 2] }, 'arguments:'],
    ['an unknown field', { tool: 'generate_contract', tool_name: 'x' }, 'body:'],
    ['a bad write-back target', { tool: 'generate_contract', writeBack: [{ type: 'ftp' }] }, 'writeBack.0.type'],
  ])(
    'a malformed message (%s) is dead-lettered naming the field, recorded as refused, nothing enqueued',
    async (_name, body, field) => {
      const messageId = randomUUID();
      const connector = connect('malformed');
      await sender('malformed').sendMessages({ body, messageId });
      await until('dead-lettered', () => connector.status()[0]?.outcomes['dead-lettered'] === 1 || undefined);
      const [dead] = (await deadLetters('malformed')).filter((m) => m.messageId === messageId);
      expect(dead?.deadLetterReason).toBe('SERVICE_BUS_MESSAGE_MALFORMED');
      expect(dead?.deadLetterErrorDescription).toContain(field);
      const [record] = await recordsWithKey(`sb:requests:${messageId}`);
      expect(record).toMatchObject({ status: 'failed', error: { code: 'SERVICE_BUS_MESSAGE_MALFORMED' } });
      expect(record?.source).toMatchObject({ kind: 'service-bus' });
      expect(await jobsFor(record?.id ?? '')).toBe(0);
      expect(peer.entity('malformed').messages()).toHaveLength(0);
    },
  );

  it.each([
    ['an unknown tool', 'no_such_tool', 'BROKER_TOOL_NOT_FOUND'],
    ['a tool not on the allowlist', 'delete_everything', 'BROKER_TOOL_NOT_ALLOWED'],
  ])(
    'a request for %s is dead-lettered with the broker code, recorded as failed, nothing enqueued',
    async (_name, tool, code) => {
      const messageId = randomUUID();
      const connector = connect('refused');
      await sender('refused').sendMessages({ body: { tool, arguments: {} }, messageId });
      await until('dead-lettered', () => connector.status()[0]?.outcomes['dead-lettered'] === 1 || undefined);
      const [dead] = (await deadLetters('refused')).filter((m) => m.messageId === messageId);
      expect(dead?.deadLetterReason).toBe(code);
      expect(dead?.deadLetterErrorDescription).toContain(tool);
      const [record] = await recordsWithKey(`sb:requests:${messageId}`);
      expect(record).toMatchObject({ status: 'failed', error: { code } });
      expect(await jobsFor(record?.id ?? '')).toBe(0);
    },
  );

  it('with a wrong SAS key the receiver reports UnauthorizedAccess and the message stays on the queue', async () => {
    const messageId = randomUUID();
    await sender('badkey').sendMessages({ body: { tool: 'generate_contract', arguments: {} }, messageId });
    const connector = connect('badkey', {
      connectionString: peer.connectionString(undefined, Buffer.from('wrong key').toString('base64')),
    });
    const error = await until('the receiver error', () => connector.status()[0]?.lastError);
    expect(error.code).toBe('UnauthorizedAccess');
    expect(error.message).toMatch(/InvalidSignature/);
    expect(connector.status()[0]?.received).toBe(0);
    expect(peer.entity('badkey').messages()).toHaveLength(1);
    expect(await recordsWithKey(`sb:requests:${messageId}`)).toHaveLength(0);
    // The right key later takes it.
    await connector.close();
    const fixed = connect('badkey');
    await until('queued', () => fixed.status()[0]?.outcomes.queued === 1 || undefined);
    expect(await recordsWithKey(`sb:requests:${messageId}`)).toHaveLength(1);
  });
});

describe('Service Bus source: one call however often a request is delivered', () => {
  it('the same messageId delivered twice is one call and one job; both messages are completed', async () => {
    const messageId = randomUUID();
    const connector = connect('dupes');
    const body = { tool: 'generate_contract', arguments: { opportunity_id: 'opp-1' } };
    await sender('dupes').sendMessages([
      { body, messageId },
      { body, messageId },
    ]);
    await until('both handled', () => {
      const s = connector.status()[0];
      return (s?.outcomes.queued ?? 0) + (s?.outcomes.duplicate ?? 0) === 2 || undefined;
    });
    expect(connector.status()[0]?.outcomes).toMatchObject({ queued: 1, duplicate: 1 });
    const records = await recordsWithKey(`sb:requests:${messageId}`);
    expect(records).toHaveLength(1);
    expect(await jobsFor(records[0]?.id ?? '')).toBe(1);
    expect(peer.entity('dupes').messages()).toHaveLength(0);
  });

  it('a receiver killed between accept and complete: the lock expires, the message comes again, still one call', async () => {
    const messageId = randomUUID();
    let crashed = false;
    // The first receiver records the call, then its process "dies": it never settles, and its connection goes.
    const doomed = connect('killed', {
      source: { maxConcurrentCalls: 1, maxLockRenewalMs: 0 },
      accept: async (caller, request, options) => {
        const acceptance = await intake.accept(caller, request, options);
        if (!crashed) {
          crashed = true;
          await new Promise(() => {});
        }
        return acceptance;
      },
    });
    await sender('killed').sendMessages({ body: { tool: 'generate_contract', arguments: {} }, messageId });
    await until('the crash', () => crashed || undefined);
    started.splice(started.indexOf(doomed), 1);
    await doomed.clients.close();
    const records = await until('the record', async () => {
      const found = await recordsWithKey(`sb:requests:${messageId}`);
      return found.length ? found : undefined;
    });
    expect(peer.entity('killed').messages()).toHaveLength(1);
    const survivor = connect('killed');
    await until('the redelivery', () => survivor.status()[0]?.outcomes.duplicate === 1 || undefined);
    expect(await recordsWithKey(`sb:requests:${messageId}`)).toHaveLength(1);
    expect(await jobsFor(records[0]?.id ?? '')).toBe(1);
    expect(peer.entity('killed').messages()).toHaveLength(0);
  });

  it('the lock is renewed while accept is slow: completed once, never redelivered', async () => {
    const messageId = randomUUID();
    let calls = 0;
    const connector = connect('slow', {
      accept: async (caller, request, options) => {
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        return intake.accept(caller, request, options);
      },
    });
    const renewalsBefore = peer.stats.renewLocks;
    await sender('slow').sendMessages({ body: { tool: 'generate_contract', arguments: {} }, messageId });
    await until('queued', () => connector.status()[0]?.outcomes.queued === 1 || undefined, 20_000);
    expect(calls).toBe(1);
    expect(peer.stats.renewLocks).toBeGreaterThan(renewalsBefore);
    expect(peer.entity('slow').messages()).toHaveLength(0);
  });

  it('when accept throws (store or Redis trouble) the message is abandoned and accepted on redelivery', async () => {
    const messageId = randomUUID();
    let failures = 2;
    const connector = connect('outage', {
      accept: async (caller, request, options) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('store unavailable');
        }
        return intake.accept(caller, request, options);
      },
    });
    await sender('outage').sendMessages({ body: { tool: 'generate_contract', arguments: {} }, messageId });
    await until('queued', () => connector.status()[0]?.outcomes.queued === 1 || undefined);
    expect(connector.status()[0]?.outcomes.abandoned).toBe(2);
    expect(await recordsWithKey(`sb:requests:${messageId}`)).toHaveLength(1);
    expect(peer.entity('outage').messages()).toHaveLength(0);
    expect(await deadLetters('outage')).toHaveLength(0);
  });
});

describe('Service Bus source: shutdown', () => {
  it('stopping while a failed accept waits its backoff abandons the message at once', async () => {
    let attempts = 0;
    const connector = connect('shutdown', {
      abandonBackoffMs: 20_000,
      accept: async () => {
        attempts += 1;
        throw new Error('store unavailable');
      },
    });
    await sender('shutdown').sendMessages({
      body: { tool: 'generate_contract', arguments: {} },
      messageId: randomUUID(),
    });
    await until('the failed accept', () => attempts === 1 || undefined);
    const stopping = Date.now();
    started.splice(started.indexOf(connector), 1);
    await connector.close();
    expect(Date.now() - stopping).toBeLessThan(5_000);
    expect(connector.status()[0]?.outcomes.abandoned).toBe(1);
    const [left] = peer.entity('shutdown').messages();
    expect(left?.lock).toBeUndefined();
    expect(left?.deliveryCount).toBe(1);
  });
});

describe('Service Bus source: the happy path', () => {
  it('a request message becomes a recorded, queued tool call under the source caller, then is completed', async () => {
    const messageId = randomUUID();
    const connector = connect('happy');
    await sender('happy').sendMessages({
      body: { tool: 'generate_contract', arguments: { opportunity_id: 'opp-000001-01' } },
      messageId,
      applicationProperties: { 'Diagnostic-Id': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    await until('queued', () => connector.status()[0]?.outcomes.queued === 1 || undefined);
    const [record] = await recordsWithKey(`sb:requests:${messageId}`);
    expect(record).toMatchObject({
      caller: 'acme',
      tool: 'generate_contract',
      status: 'queued',
      arguments: { opportunity_id: 'opp-000001-01' },
      source: { kind: 'service-bus', reference: expect.stringContaining('requests:happy#') },
      correlation: { requestId: messageId, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(await jobsFor(record?.id ?? '')).toBe(1);
    expect(peer.entity('happy').messages()).toHaveLength(0);
  });

  it('a configured application property is the idempotency key: two messageIds, one call', async () => {
    const orderId = `order-${randomUUID()}`;
    const connector = connect('prop', { source: { idempotencyProperty: 'orderId' } });
    const body = { tool: 'generate_contract', arguments: {} };
    await sender('prop').sendMessages([
      { body, messageId: randomUUID(), applicationProperties: { orderId } },
      { body, messageId: randomUUID(), applicationProperties: { orderId } },
      { body, messageId: randomUUID() },
    ]);
    await until('all three', () => {
      const s = connector.status()[0]?.outcomes;
      return (s?.queued ?? 0) + (s?.duplicate ?? 0) + (s?.['dead-lettered'] ?? 0) === 3 || undefined;
    });
    expect(connector.status()[0]?.outcomes).toMatchObject({ queued: 1, duplicate: 1, 'dead-lettered': 1 });
    expect(await recordsWithKey(`sb:requests:${orderId}`)).toHaveLength(1);
    const [dead] = await deadLetters('prop');
    expect(dead?.deadLetterErrorDescription).toContain('applicationProperties.orderId: required');
  });
});

import { createHash, randomUUID } from 'node:crypto';
import { type LocalTestIssuer, startLocalTestIssuer } from '@mcp-broker/auth/testing';
import { BrokerQueues, ToolCallIntake, ToolCallRepository, WriteBackPolicy } from '@mcp-broker/broker';
import { type CallerConfig, callerSchema, eventGridPushSubscriptionSchema } from '@mcp-broker/broker-config';
import { EventGridWebhookSource, type ToolCallAcceptor } from '@mcp-broker/event-grid';
import { EventGridWebhookDriver } from '@mcp-broker/event-grid-sandbox';
import { createLogger } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngressApp } from './app.ts';
import { CallerAuthenticator } from './caller-authenticator.ts';
import { ToolCallService } from './tool-call-service.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY = 'k3y-for-the-orders-subscription-0123456789';
const AUDIENCE = 'api://mcp-broker-webhooks';
const EVENT_GRID_APP = '4962773b-9cdb-44cf-a8bf-237846a00ab7';

interface Broker {
  app: FastifyInstance;
  url: string;
  store: Store;
  redis: Redis;
  repository: ToolCallRepository;
  queues: BrokerQueues;
  close(): Promise<void>;
}

let issuer: LocalTestIssuer;
let broker: Broker;
let caller: CallerConfig;

function subscriptions() {
  const route = { eventType: 'Contoso.Orders.*', tool: 'generate_contract', arguments: '{ "order_id": data.orderId }' };
  return [
    {
      id: 'orders',
      caller: 'orders-app',
      auth: { type: 'key', keyHash: `sha256:${createHash('sha256').update(KEY).digest('hex')}` },
      routes: [route],
    },
    {
      id: 'orders-entra',
      caller: 'orders-app',
      auth: { type: 'entra', issuer: issuer.issuer, audience: AUDIENCE },
      routes: [route],
    },
    {
      id: 'orders-pinned',
      caller: 'orders-app',
      auth: { type: 'entra', issuer: issuer.issuer, audience: AUDIENCE, subjects: ['another-app'] },
      routes: [route],
    },
    {
      id: 'reports',
      caller: 'orders-app',
      auth: { type: 'key', keyHash: `sha256:${createHash('sha256').update(KEY).digest('hex')}` },
      routes: [{ eventType: 'Contoso.Reports.Requested', tool: 'analyze_sales_data' }],
    },
  ].map((s) => eventGridPushSubscriptionSchema.parse(s));
}

/** The real ingress app and intake (embedded store, real Redis); `wrap` stands between the webhook and accept. */
async function startBroker(
  options: { redisUrl?: string; wrap?: (intake: ToolCallIntake) => ToolCallAcceptor } = {},
): Promise<Broker> {
  const store = await createStore({ databaseId: `event-grid-webhooks-${randomUUID()}` });
  // An unreachable Redis fails at once (no offline queue), as a down one does for the intake.
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: false })
    : new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const prefix = `eg-webhooks:${randomUUID()}:`;
  const queues = new BrokerQueues({ connection: redis, prefix });
  const repository = new ToolCallRepository({ store });
  const intake = new ToolCallIntake({
    repository,
    queues,
    redis,
    prefix,
    validator: {
      validate: async (_c, tool) =>
        tool === 'generate_contract' || tool === 'analyze_sales_data' ? { kind: 'ok' } : { kind: 'unknown_tool' },
    },
    writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: [], env: {} }),
  });
  const app = await buildIngressApp({
    logger: createLogger({ name: 'event-grid-webhooks-test', level: process.env.TEST_LOG ?? 'silent' }),
    service: new ToolCallService({ repository, queues, redis, prefix, intake }),
    authenticator: new CallerAuthenticator([caller]),
    publicUrl: 'https://broker.example.com',
    maxJsonDepth: 16,
    eventGridWebhooks: new EventGridWebhookSource({
      subscriptions: subscriptions(),
      callers: [caller],
      acceptor: options.wrap ? options.wrap(intake) : intake,
    }),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    url,
    store,
    redis,
    repository,
    queues,
    async close() {
      await app.close();
      await queues.close().catch(() => {});
      redis.disconnect();
      await store.close();
    },
  };
}

beforeAll(async () => {
  issuer = await startLocalTestIssuer();
  caller = callerSchema.parse({
    id: 'orders-app',
    auth: { type: 'basic', username: 'orders-app', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
    upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://x/.default' } },
    tools: ['generate_contract'],
  });
  broker = await startBroker();
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await issuer?.close();
});

const calls = async (b: Broker = broker) => (await b.repository.list('orders-app', { limit: 100 })).items;
const jobs = async (b: Broker = broker) => {
  const counts = await b.queues.toolCallQueue('orders-app').getJobCounts('waiting', 'delayed', 'active', 'prioritized');
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
};

let seq = 0;
function gridEvent(over: Record<string, unknown> = {}) {
  seq += 1;
  return {
    id: `eg-${seq}-${randomUUID()}`,
    topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/orders',
    subject: `/orders/O-${seq}`,
    eventType: 'Contoso.Orders.Created',
    eventTime: new Date().toISOString(),
    data: { orderId: `O-${seq}` },
    dataVersion: '1.0',
    metadataVersion: '1',
    ...over,
  };
}
function cloudEvent(over: Record<string, unknown> = {}) {
  seq += 1;
  return {
    specversion: '1.0',
    id: `ce-${seq}-${randomUUID()}`,
    source: '/contoso/orders',
    type: 'Contoso.Orders.Created',
    subject: `/orders/O-${seq}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { orderId: `O-${seq}` },
    ...over,
  };
}

/** The error of a refused request (docs/errors.md: `{ error: { code, message, requestId, details } }`). */
async function errorOf(res: Response): Promise<{ code: string; message: string; [key: string]: unknown }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

function post(path: string, body: string, headers: Record<string, string>) {
  return fetch(`${broker.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'x-request-id': `req-${randomUUID()}`, ...headers },
  });
}

const keyDriver = (schema: 'EventGridSchema' | 'CloudEventSchemaV1_0', over: Record<string, unknown> = {}) =>
  new EventGridWebhookDriver({
    endpointUrl: `${broker.url}/webhooks/eventgrid/orders`,
    schema,
    subscriptionName: 'orders-to-broker',
    headers: { 'x-event-grid-key': KEY },
    retryDelaysMs: [50, 100, 200],
    ...over,
  });
const entraDriver = (audience = AUDIENCE) =>
  new EventGridWebhookDriver({
    endpointUrl: `${broker.url}/webhooks/eventgrid/orders-entra`,
    schema: 'CloudEventSchemaV1_0',
    subscriptionName: 'orders-entra',
    bearerToken: () => issuer.sign({ sub: EVENT_GRID_APP, azp: EVENT_GRID_APP, aud: audience }),
  });

describe('Event Grid webhook: refusals (nothing accepted, 4xx naming the field and the request id)', () => {
  it('an unknown subscription is 404 BROKER_EVENT_GRID_SUBSCRIPTION_UNKNOWN', async () => {
    const res = await post('/webhooks/eventgrid/nope', JSON.stringify([gridEvent()]), {
      'content-type': 'application/json',
      'x-event-grid-key': KEY,
      'x-request-id': 'req-unknown-sub',
    });
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({
      code: 'BROKER_EVENT_GRID_SUBSCRIPTION_UNKNOWN',
      requestId: 'req-unknown-sub',
    });
  });

  it('a missing or wrong key is 401 BROKER_EVENT_GRID_KEY_INVALID, and Event Grid dead-letters without retrying', async () => {
    const before = (await calls()).length;
    const missing = await keyDriver('EventGridSchema', { headers: {} }).deliver([gridEvent()]);
    expect(missing).toMatchObject({ outcome: 'dead-lettered', reason: 'no-retry-status' });
    expect(missing.attempts).toHaveLength(1);
    expect(JSON.parse(missing.attempts[0]!.body).error).toMatchObject({
      code: 'BROKER_EVENT_GRID_KEY_INVALID',
      details: { header: 'x-event-grid-key' },
    });
    const wrong = await keyDriver('EventGridSchema', { headers: { 'x-event-grid-key': `${KEY}x` } }).deliver([
      gridEvent(),
    ]);
    expect(wrong.attempts[0]?.status).toBe(401);
    expect(wrong.attempts[0]?.body).not.toContain(KEY);
    expect((await calls()).length).toBe(before);
  });

  it('an Entra token for another audience is 401 BROKER_TOKEN_INVALID (wrong_audience); none is BROKER_TOKEN_MISSING', async () => {
    const wrong = await entraDriver('api://someone-else').deliver([cloudEvent()]);
    expect(wrong.attempts[0]?.status).toBe(401);
    expect(JSON.parse(wrong.attempts[0]!.body).error).toMatchObject({
      code: 'BROKER_TOKEN_INVALID',
      details: { reason: 'wrong_audience' },
    });
    const res = await post('/webhooks/eventgrid/orders-entra', JSON.stringify(cloudEvent()), {
      'content-type': 'application/cloudevents+json',
    });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('BROKER_TOKEN_MISSING');
  });

  it('a token of the right audience from a caller the subscription does not accept is 401 (subject_not_allowed)', async () => {
    const outcome = await new EventGridWebhookDriver({
      endpointUrl: `${broker.url}/webhooks/eventgrid/orders-pinned`,
      schema: 'CloudEventSchemaV1_0',
      subscriptionName: 'orders-pinned',
      bearerToken: () => issuer.sign({ sub: EVENT_GRID_APP, azp: EVENT_GRID_APP, aud: AUDIENCE }),
    }).deliver([cloudEvent()]);
    expect(outcome).toMatchObject({ outcome: 'dead-lettered', reason: 'no-retry-status' });
    expect(JSON.parse(outcome.attempts[0]!.body).error).toMatchObject({
      code: 'BROKER_TOKEN_INVALID',
      details: { reason: 'subject_not_allowed' },
    });
  });

  it('an event missing a required attribute refuses the whole delivery naming body[i].attribute; the valid event beside it is not accepted', async () => {
    const before = (await calls()).length;
    const broken = gridEvent();
    delete (broken as Partial<typeof broken>).subject;
    const res = await post('/webhooks/eventgrid/orders', JSON.stringify([gridEvent(), broken]), {
      'content-type': 'application/json',
      'x-event-grid-key': KEY,
      'x-request-id': 'req-broken',
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error).toMatchObject({
      code: 'BROKER_EVENT_GRID_EVENT_INVALID',
      requestId: 'req-broken',
      details: { fields: [{ field: 'body[1].subject' }] },
    });
    expect(error.message).toContain('Nothing of this delivery was accepted');
    expect((await calls()).length).toBe(before);
  });

  it('CloudEvents with another specversion, a batch that is not an array, and Event Grid schema not in an array are 400', async () => {
    const cases: [string, string, string][] = [
      [JSON.stringify(cloudEvent({ specversion: '0.3' })), 'application/cloudevents+json', 'body'],
      [JSON.stringify(cloudEvent()), 'application/cloudevents-batch+json', 'body'],
      [JSON.stringify(gridEvent()), 'application/json', 'body'],
      [JSON.stringify([cloudEvent({ id: 42 })]), 'application/cloudevents-batch+json', 'body[0].id'],
    ];
    for (const [body, contentType, field] of cases) {
      const res = await post('/webhooks/eventgrid/orders', body, {
        'content-type': contentType,
        'x-event-grid-key': KEY,
      });
      expect(res.status, `${contentType} ${body.slice(0, 60)}`).toBe(400);
      expect(await errorOf(res)).toMatchObject({
        code: 'BROKER_EVENT_GRID_EVENT_INVALID',
        details: { fields: [{ field }] },
      });
    }
  });

  it('a body that is not JSON, nested too deep, or of another media type is refused before anything reads it', async () => {
    const notJson = await post('/webhooks/eventgrid/orders', '[{"id":', {
      'content-type': 'application/cloudevents-batch+json',
      'x-event-grid-key': KEY,
    });
    expect(notJson.status).toBe(400);
    expect((await errorOf(notJson)).code).toBe('BROKER_MALFORMED_JSON');
    const deep = await post('/webhooks/eventgrid/orders', `[${'['.repeat(5000)}${']'.repeat(5000)}]`, {
      'content-type': 'application/cloudevents-batch+json',
      'x-event-grid-key': KEY,
    });
    expect(deep.status).toBe(400);
    expect(await errorOf(deep)).toMatchObject({ code: 'BROKER_PAYLOAD_TOO_DEEP', details: { limitDepth: 16 } });
    const text = await post('/webhooks/eventgrid/orders', 'hello', {
      'content-type': 'text/plain',
      'x-event-grid-key': KEY,
    });
    expect(text.status).toBe(415);
  });

  it('an event no route matches is 400 BROKER_EVENT_GRID_NO_ROUTE naming its type and subject', async () => {
    const outcome = await keyDriver('EventGridSchema').deliver([
      gridEvent({ eventType: 'Contoso.Invoices.Paid', subject: '/invoices/9' }),
    ]);
    expect(outcome).toMatchObject({ outcome: 'dead-lettered', reason: 'no-retry-status' });
    const { error } = JSON.parse(outcome.attempts[0]!.body);
    expect(error.code).toBe('BROKER_EVENT_GRID_NO_ROUTE');
    expect(error.message).toContain('event type "Contoso.Invoices.Paid" with subject "/invoices/9"');
  });

  it('a call the core refuses (tool not on the allowlist) answers its 403 and records nothing', async () => {
    const before = (await calls()).length;
    const res = await post(
      '/webhooks/eventgrid/reports',
      JSON.stringify([gridEvent({ eventType: 'Contoso.Reports.Requested', data: { from: '2026-01-01' } })]),
      { 'content-type': 'application/json', 'x-event-grid-key': KEY },
    );
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('BROKER_TOOL_NOT_ALLOWED');
    expect((await calls()).length).toBe(before);
  });
});

describe('Event Grid webhook: handshakes', () => {
  it('answers the Event Grid schema subscription validation (validationCode → validationResponse)', async () => {
    const answer = await keyDriver('EventGridSchema').validate();
    expect(answer.status).toBe(200);
  });

  it('answers the CloudEvents abuse-protection OPTIONS with WebHook-Allowed-Origin and the rate', async () => {
    const answer = await entraDriver().validate();
    expect(answer.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');
    expect(answer.headers.get('webhook-allowed-rate')).toBe('120');
    const res = await fetch(`${broker.url}/webhooks/eventgrid/orders`, { method: 'OPTIONS' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('BROKER_EVENT_GRID_HANDSHAKE_INVALID');
  });
});

describe('Event Grid webhook: deliveries become tool calls', () => {
  it('an Event Grid schema event with the key becomes one queued call with the routed arguments', async () => {
    const jobsBefore = await jobs();
    const event = gridEvent();
    const outcome = await keyDriver('EventGridSchema').deliver([event]);
    expect(outcome.outcome).toBe('delivered');
    const body = JSON.parse(outcome.attempts[0]!.body);
    expect(body.accepted).toEqual([{ eventId: event.id, callId: expect.stringMatching(/^tc_/), outcome: 'queued' }]);
    const call = (await calls()).find((c) => c.id === body.accepted[0].callId);
    expect(call).toMatchObject({
      status: 'queued',
      tool: 'generate_contract',
      arguments: { order_id: event.data.orderId },
      idempotencyKey: `eventgrid:push:orders:${event.id}`,
      source: { kind: 'event-grid' },
    });
    expect(await jobs()).toBe(jobsBefore + 1);
  });

  it('a CloudEvents batch and a structured CloudEvent with an Entra token become one call each', async () => {
    const before = (await calls()).length;
    const batch = [
      cloudEvent(),
      cloudEvent({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
    ];
    expect((await entraDriver().deliver(batch)).outcome).toBe('delivered');
    expect((await entraDriver().deliver([cloudEvent()])).outcome).toBe('delivered');
    const all = await calls();
    expect(all.length).toBe(before + 3);
    const traced = all.find((c) => c.idempotencyKey.endsWith(batch[1]!.id));
    expect(traced?.correlation.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });

  it('a duplicate delivery of one event id is one call (the second answer says duplicate)', async () => {
    const event = gridEvent();
    const first = await keyDriver('EventGridSchema').deliver([event]);
    const second = await keyDriver('EventGridSchema').deliver([event]);
    expect(JSON.parse(second.attempts[0]!.body).accepted[0]).toMatchObject({
      outcome: 'duplicate',
      callId: JSON.parse(first.attempts[0]!.body).accepted[0].callId,
    });
    expect((await calls()).filter((c) => c.idempotencyKey === `eventgrid:push:orders:${event.id}`)).toHaveLength(1);
  });

  it('a broker that answers too late (recorded, then the connection timed out) is delivered again and still makes one call', async () => {
    const slow = await startBroker({
      wrap: (intake) => ({
        accept: async (c, request, options) => {
          const acceptance = await intake.accept(c, request, options);
          await new Promise((resolve) => setTimeout(resolve, 800));
          return acceptance;
        },
      }),
    });
    try {
      const event = gridEvent();
      const driver = new EventGridWebhookDriver({
        endpointUrl: `${slow.url}/webhooks/eventgrid/orders`,
        schema: 'EventGridSchema',
        subscriptionName: 'orders',
        headers: { 'x-event-grid-key': KEY },
        timeoutMs: 300,
        // Long enough for the first accept to have recorded the call before the retry comes, even
        // on a loaded machine: a retry that meets it still being accepted is answered 409 at once.
        retryDelaysMs: [3_000],
        maxDeliveryAttempts: 2,
      });
      const outcome = await driver.deliver([event]);
      expect(outcome.attempts.map((a) => a.status)).toEqual(['timeout', 'timeout']);
      const late = await new EventGridWebhookDriver({
        endpointUrl: `${slow.url}/webhooks/eventgrid/orders`,
        schema: 'EventGridSchema',
        subscriptionName: 'orders',
        headers: { 'x-event-grid-key': KEY },
      }).deliver([event]);
      expect(late.outcome).toBe('delivered');
      expect(JSON.parse(late.attempts[0]!.body).accepted[0].outcome).toBe('duplicate');
      expect((await calls(slow)).filter((c) => c.idempotencyKey === `eventgrid:push:orders:${event.id}`)).toHaveLength(
        1,
      );
      expect(await jobs(slow)).toBe(1);
    } finally {
      await slow.close();
    }
  }, 20_000);

  it('when the core cannot accept (Redis unreachable) the answer is 503 and Event Grid retries; nothing is recorded', async () => {
    const down = await startBroker({ redisUrl: 'redis://127.0.0.1:1' });
    try {
      const outcome = await new EventGridWebhookDriver({
        endpointUrl: `${down.url}/webhooks/eventgrid/orders`,
        schema: 'EventGridSchema',
        subscriptionName: 'orders',
        headers: { 'x-event-grid-key': KEY },
        retryDelaysMs: [20],
        maxDeliveryAttempts: 2,
      }).deliver([gridEvent()]);
      expect(outcome).toMatchObject({ outcome: 'dead-lettered', reason: 'attempts-exhausted' });
      expect(outcome.attempts.map((a) => a.status)).toEqual([503, 503]);
      expect(JSON.parse(outcome.attempts[0]!.body).error.code).toBe('BROKER_NOT_READY');
      expect(await calls(down)).toHaveLength(0);
    } finally {
      await down.close();
    }
  });
});

import type { TokenCredential } from '@azure/core-auth';
import { createTokenVerifier } from '@mcp-broker/auth';
import { type LocalTestIssuer, startLocalTestIssuer } from '@mcp-broker/auth/testing';
import { WriteBackDelivery } from '@mcp-broker/broker';
import { eventGridTopicSchema } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import {
  createSelfSignedCertificate,
  EVENT_GRID_AUDIENCE,
  type EventGridNamespaceSandbox,
  type EventGridTopicSandbox,
  startEventGridNamespaceSandbox,
  startEventGridTopicSandbox,
  trustCertificate,
} from '@mcp-broker/event-grid-sandbox';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CoreUnderTest, coreUnderTest } from '../../test-support/broker-core.ts';
import { EventGridTargetHandler } from './event-grid-target.ts';

const KEY = Buffer.from('results-topic-key-0123456789abcd').toString('base64');
const BROKER_APP = 'broker-app-client-id';

let issuer: LocalTestIssuer;
let topics: EventGridTopicSandbox;
let namespace: EventGridNamespaceSandbox;
let core: CoreUnderTest;
let counter = 0;

beforeAll(async () => {
  issuer = await startLocalTestIssuer();
  const certificate = createSelfSignedCertificate();
  trustCertificate(certificate.cert);
  const verifier = createTokenVerifier({ issuers: [{ issuer: issuer.issuer }], audience: EVENT_GRID_AUDIENCE });
  topics = await startEventGridTopicSandbox({
    certificate,
    topics: [
      { name: 'results', inputSchema: 'CloudEventSchemaV1_0', access: { keys: [KEY] } },
      { name: 'legacy', inputSchema: 'EventGridSchema', access: { keys: [KEY] } },
    ],
  });
  namespace = await startEventGridNamespaceSandbox({
    certificate,
    access: { keys: [], entra: { verifier, principals: [BROKER_APP] } },
    topics: [{ name: 'results', subscriptions: [{ name: 'reader' }] }],
  });
  core = await coreUnderTest();
});

afterAll(async () => {
  await topics?.close();
  await namespace?.close();
  await core?.close();
  await issuer?.close();
});

/** What @azure/identity would be for a managed identity: real tokens from the loopback issuer. */
function identityOf(clientId: string): () => TokenCredential {
  return () => ({
    async getToken(scopes) {
      expect([scopes].flat()).toEqual(['https://eventgrid.azure.net/.default']);
      const token = await issuer.sign({ sub: clientId, azp: clientId, aud: EVENT_GRID_AUDIENCE });
      return { token, expiresOnTimestamp: Date.now() + 300_000 };
    },
  });
}

function topic(over: Record<string, unknown> = {}) {
  return eventGridTopicSchema.parse({
    id: 'results',
    kind: 'topic',
    endpoint: topics.endpointFor('results'),
    credential: { type: 'access-key', key: { fromEnv: 'EG_RESULTS_KEY' } },
    typePrefix: 'com.contoso.broker',
    callers: ['orders-app'],
    ...over,
  });
}

function handler(config = topic(), options: { key?: string; clientId?: string } = {}) {
  return new EventGridTargetHandler({
    topics: [config],
    env: { EG_RESULTS_KEY: options.key ?? KEY },
    azureCredential: identityOf(options.clientId ?? BROKER_APP),
  });
}

/** A finished call with one event-grid target, recorded through the real intake. */
async function finishedCall(result: unknown, status: 'succeeded' | 'failed' = 'succeeded'): Promise<ToolCallRecord> {
  counter += 1;
  const acceptance = await core.intake.accept(core.caller, {
    tool: 'generate_contract',
    arguments: { order_id: `O-${counter}` },
    writeBack: [{ type: 'event-grid', topic: 'results', subject: `orders/O-${counter}` }],
    idempotencyKey: `target-test-${counter}-${Date.now()}`,
    source: { kind: 'api' },
    correlation: {
      requestId: `req-${counter}`,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  });
  if (acceptance.outcome === 'refused') throw acceptance.reason;
  const saved = await core.repository.apply(core.caller.id, acceptance.record.id, (current, now) => ({
    ...current,
    status,
    completedAt: now,
    ...(status === 'succeeded'
      ? { result }
      : { error: { code: 'TOOL_ERROR', message: 'The contract template is missing.' } }),
  }));
  if (!saved) throw new Error('the record was not updated');
  return saved.record;
}

const context = (record: ToolCallRecord) => ({ record, targetIndex: 0, signal: AbortSignal.timeout(10_000) });

describe('event-grid write-back target: final failures', () => {
  it('a wrong access key is EVENT_GRID_UNAUTHORIZED, final, and nothing is published', async () => {
    const record = await finishedCall({ ok: true });
    await expect(
      handler(topic(), { key: Buffer.from('wrong').toString('base64') }).deliver(
        record.deliveries[0]!.target as never,
        context(record),
      ),
    ).rejects.toMatchObject({
      kind: 'permanent',
      code: 'EVENT_GRID_UNAUTHORIZED',
    });
    expect(topics.published('results').filter((p) => p.event.subject === `orders/O-${counter}`)).toHaveLength(0);
  });

  it('a topic whose input schema is the Event Grid schema refuses CloudEvents: EVENT_GRID_REJECTED with the service message', async () => {
    const record = await finishedCall({ ok: true });
    const error = await handler(topic({ endpoint: topics.endpointFor('legacy') }))
      .deliver(record.deliveries[0]!.target as never, context(record))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'permanent', code: 'EVENT_GRID_REJECTED' });
    expect((error as Error).message).toContain('does not match the topic');
  });

  it('an unknown topic path is EVENT_GRID_NOT_FOUND; 413 is EVENT_GRID_TOO_LARGE; a caller not listed is EVENT_GRID_TOPIC_NOT_ALLOWED', async () => {
    const record = await finishedCall({ ok: true });
    const target = record.deliveries[0]!.target as never;
    await expect(
      handler(topic({ endpoint: `${topics.url}/topics/missing/api/events` })).deliver(target, context(record)),
    ).rejects.toMatchObject({
      code: 'EVENT_GRID_NOT_FOUND',
      kind: 'permanent',
    });
    topics.failNext(1, { kind: 'status', status: 413 });
    await expect(handler().deliver(target, context(record))).rejects.toMatchObject({
      code: 'EVENT_GRID_TOO_LARGE',
      kind: 'permanent',
    });
    await expect(handler(topic({ callers: ['someone-else'] })).deliver(target, context(record))).rejects.toMatchObject({
      code: 'EVENT_GRID_TOPIC_NOT_ALLOWED',
    });
  });

  it('an Entra identity without the EventGrid Data Sender role is EVENT_GRID_FORBIDDEN', async () => {
    const record = await finishedCall({ ok: true });
    const config = topic({
      kind: 'namespace-topic',
      endpoint: namespace.url,
      namespaceTopic: 'results',
      credential: { type: 'managed-identity' },
    });
    await expect(
      handler(config, { clientId: 'someone-without-the-role' }).deliver(
        record.deliveries[0]!.target as never,
        context(record),
      ),
    ).rejects.toMatchObject({
      code: 'EVENT_GRID_FORBIDDEN',
      kind: 'permanent',
    });
  });

  it("a final failure is recorded on the delivery by the broker's write-back machinery", async () => {
    const record = await finishedCall({ ok: true });
    const delivery = new WriteBackDelivery({
      repository: core.repository,
      queues: core.queues,
      handlers: [handler(topic(), { key: Buffer.from('wrong').toString('base64') })],
      logger: pino({ level: 'silent' }),
    });
    const claimed = await delivery.claim(record, 0);
    const outcome = await delivery.attempt(claimed!, 0, 10_000, false);
    const stored = await delivery.store(claimed!, new Map([[0, outcome]]));
    expect(stored?.deliveries[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'EVENT_GRID_UNAUTHORIZED' },
    });
  });
});

describe('event-grid write-back target: transient failures', () => {
  it('503 is EVENT_GRID_UNAVAILABLE (unconfirmed), 429 is EVENT_GRID_THROTTLED with Retry-After, a refused connection is EVENT_GRID_UNREACHABLE', async () => {
    const record = await finishedCall({ ok: true });
    const target = record.deliveries[0]!.target as never;
    topics.failNext(1, { kind: 'status', status: 503 });
    await expect(handler().deliver(target, context(record))).rejects.toMatchObject({
      kind: 'transient',
      code: 'EVENT_GRID_UNAVAILABLE',
      unconfirmed: true,
    });
    topics.failNext(1, { kind: 'status', status: 429, retryAfterSeconds: 7 });
    await expect(handler().deliver(target, context(record))).rejects.toMatchObject({
      kind: 'transient',
      code: 'EVENT_GRID_THROTTLED',
      retryAfterMs: 7_000,
    });
    await expect(
      handler(topic({ endpoint: 'https://127.0.0.1:1/api/events' })).deliver(target, context(record)),
    ).rejects.toMatchObject({
      kind: 'transient',
      code: 'EVENT_GRID_UNREACHABLE',
      unconfirmed: false,
    });
    topics.failNext(1, { kind: 'drop' });
    await expect(handler().deliver(target, context(record))).rejects.toMatchObject({
      kind: 'transient',
      code: 'EVENT_GRID_UNREACHABLE',
    });
  });

  it('retries a transient failure through the write-back machinery and publishes the same CloudEvent id once', async () => {
    const record = await finishedCall({ contractUrl: 'https://contracts.example.com/c/1' });
    const delivery = new WriteBackDelivery({
      repository: core.repository,
      queues: core.queues,
      handlers: [handler()],
      logger: pino({ level: 'silent' }),
    });
    topics.failNext(1, { kind: 'status', status: 500 });
    const first = await delivery.claim(record, 0);
    const failed = await delivery.store(first!, new Map([[0, await delivery.attempt(first!, 0, 10_000, false)]]));
    expect(failed?.deliveries[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      unconfirmedAttempts: 1,
      lastError: { code: 'EVENT_GRID_UNAVAILABLE' },
    });
    const second = await delivery.claim(failed!, 0);
    const delivered = await delivery.store(second!, new Map([[0, await delivery.attempt(second!, 0, 10_000, false)]]));
    expect(delivered?.deliveries[0]).toMatchObject({
      status: 'delivered',
      attempts: 2,
      receipt: { eventId: `${record.id}.0.0` },
    });
    const published = topics.published('results').filter((p) => p.event.id === `${record.id}.0.0`);
    expect(published).toHaveLength(1);
  });
});

describe('event-grid write-back target: delivery', () => {
  it('publishes <prefix>.toolcall.succeeded to a custom topic with the call id, caller, tool, status and the small result inline', async () => {
    const record = await finishedCall({ contractUrl: 'https://contracts.example.com/c/2' });
    const receipt = await handler().deliver(record.deliveries[0]!.target as never, context(record));
    expect(receipt).toEqual({
      eventId: `${record.id}.0.0`,
      eventType: 'com.contoso.broker.toolcall.succeeded',
      topic: 'results',
    });
    const event = topics.published('results').find((p) => p.event.id === `${record.id}.0.0`)?.event;
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'com.contoso.broker.toolcall.succeeded',
      source: '/mcp-broker',
      subject: `orders/O-${counter}`,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data: {
        callId: record.id,
        caller: 'orders-app',
        tool: 'generate_contract',
        status: 'succeeded',
        result: { contractUrl: 'https://contracts.example.com/c/2' },
      },
    });
  });

  it('publishes a large result by reference, and a failed call as .failed with its error', async () => {
    const big = await finishedCall({ blob: 'x'.repeat(40_000) });
    await handler().deliver(big.deliveries[0]!.target as never, context(big));
    const bigEvent = topics.published('results').find((p) => p.event.id === `${big.id}.0.0`)?.event as {
      data: Record<string, unknown>;
    };
    expect(bigEvent.data.result).toBeUndefined();
    expect(bigEvent.data.resultRef).toEqual({ callId: big.id, path: `/v1/tool-calls/${big.id}`, bytes: 40_011 });

    const failed = await finishedCall(undefined, 'failed');
    await handler().deliver(failed.deliveries[0]!.target as never, context(failed));
    expect(topics.published('results').find((p) => p.event.id === `${failed.id}.0.0`)?.event).toMatchObject({
      type: 'com.contoso.broker.toolcall.failed',
      data: { status: 'failed', error: { code: 'TOOL_ERROR', message: 'The contract template is missing.' } },
    });
  });

  it('publishes to a namespace topic through EventGridSenderClient with an Entra token (aud https://eventgrid.azure.net)', async () => {
    const record = await finishedCall({ ok: true });
    const config = topic({
      kind: 'namespace-topic',
      endpoint: namespace.url,
      namespaceTopic: 'results',
      credential: { type: 'managed-identity', clientId: BROKER_APP },
    });
    await handler(config).deliver(record.deliveries[0]!.target as never, context(record));
    const [received] = namespace.events('results', 'reader').filter((e) => e.event.id === `${record.id}.0.0`);
    expect(received?.event).toMatchObject({
      type: 'com.contoso.broker.toolcall.succeeded',
      data: { callId: record.id, status: 'succeeded' },
    });
  });
});

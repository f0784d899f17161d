import { EventGridSenderClient, AzureKeyCredential as NamespaceKeyCredential } from '@azure/eventgrid-namespaces';
import { eventGridPullSubscriptionSchema } from '@mcp-broker/broker-config';
import {
  createSelfSignedCertificate,
  type EventGridNamespaceSandbox,
  startEventGridNamespaceSandbox,
  trustCertificate,
} from '@mcp-broker/event-grid-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CoreUnderTest, coreUnderTest, recordingLogger, waitFor } from '../../test-support/broker-core.ts';
import type { ToolCallAcceptor } from '../tool-call-acceptor.ts';
import { NamespacePullSource } from './namespace-pull-source.ts';

const KEY = Buffer.from('namespace-key-for-the-broker-0123').toString('base64');
const TOPICS = ['no-route', 'bad-data', 'refused', 'wrong-key', 'transient', 'duplicate', 'killed', 'happy'];

let namespace: EventGridNamespaceSandbox;
let core: CoreUnderTest;

beforeAll(async () => {
  const certificate = createSelfSignedCertificate();
  trustCertificate(certificate.cert);
  namespace = await startEventGridNamespaceSandbox({
    certificate,
    access: { keys: [KEY] },
    topics: TOPICS.map((name) => ({
      name,
      subscriptions: [{ name: 'broker', lockDurationSeconds: 2, maxDeliveryCount: 5 }],
    })),
  });
  core = await coreUnderTest();
});

afterAll(async () => {
  await namespace?.close();
  await core?.close();
});

function subscription(topic: string, over: Record<string, unknown> = {}) {
  return eventGridPullSubscriptionSchema.parse({
    id: `orders-${topic}`,
    caller: 'orders-app',
    endpoint: namespace.url,
    topic,
    subscription: 'broker',
    credential: { type: 'access-key', key: { fromEnv: 'EG_NAMESPACE_KEY' } },
    routes: [
      {
        eventType: 'Contoso.Orders.*',
        subjectBeginsWith: '/orders/',
        tool: 'generate_contract',
        arguments: '{ "order_id": data.orderId }',
      },
      { eventType: 'Contoso.Reports.Requested', tool: 'analyze_sales_data' },
    ],
    maxWaitSeconds: 10,
    releaseDelaySeconds: 0,
    ...over,
  });
}

function source(
  topic: string,
  options: { acceptor?: ToolCallAcceptor; key?: string; over?: Record<string, unknown> } = {},
) {
  const logger = recordingLogger();
  const pull = new NamespacePullSource({
    subscription: subscription(topic, options.over),
    caller: core.caller,
    acceptor: options.acceptor ?? core.intake,
    logger,
    env: { EG_NAMESPACE_KEY: options.key ?? KEY },
  });
  return { pull, logger };
}

async function publish(topic: string, events: { id: string; type: string; subject?: string; data?: unknown }[]) {
  const sender = new EventGridSenderClient(namespace.url, new NamespaceKeyCredential(KEY), topic);
  await sender.sendEvents(events.map((e) => ({ source: '/contoso/orders', ...e })));
}

const callsFor = async (topic: string) =>
  (await core.calls()).filter((c) => c.idempotencyKey.startsWith(`eventgrid:pull:orders-${topic}:`));

describe('Event Grid namespace pull source', () => {
  it('rejects an event no route matches: dead-lettered, recorded as refused, nothing queued', async () => {
    await publish('no-route', [
      { id: 'nr-1', type: 'Contoso.Invoices.Paid', subject: '/orders/1', data: { orderId: 'O-1' } },
    ]);
    const { pull, logger } = source('no-route');
    expect(await pull.pollOnce()).toBe(1);
    expect(namespace.events('no-route', 'broker', 'dead-lettered').map((e) => e.event.id)).toEqual(['nr-1']);
    const [call] = await callsFor('no-route');
    expect(call).toMatchObject({ status: 'failed', error: { code: 'BROKER_EVENT_GRID_NO_ROUTE' } });
    expect(call?.error?.message).toContain(
      'no route of eventGrid.pull[orders-no-route] matches event type "Contoso.Invoices.Paid"',
    );
    expect(logger.lines.some((l) => l.facts.code === 'BROKER_EVENT_GRID_NO_ROUTE')).toBe(true);
    expect(await core.queuedJobs()).toBe(0);
  });

  it('rejects an event whose data is not an object (the default arguments), nothing queued', async () => {
    await publish('bad-data', [{ id: 'bd-1', type: 'Contoso.Reports.Requested', subject: 'r', data: 'not an object' }]);
    const { pull } = source('bad-data');
    await pull.pollOnce();
    expect(namespace.events('bad-data', 'broker', 'dead-lettered').map((e) => e.event.id)).toEqual(['bd-1']);
    expect((await callsFor('bad-data'))[0]?.error?.message).toContain('event.data must be a JSON object');
    expect(await core.queuedJobs()).toBe(0);
  });

  it('rejects an event the core refuses (tool not on the caller allowlist) and the refusal is recorded', async () => {
    await publish('refused', [
      { id: 'rf-1', type: 'Contoso.Reports.Requested', subject: 'r', data: { from: '2026-01-01' } },
    ]);
    const { pull } = source('refused');
    await pull.pollOnce();
    expect(namespace.events('refused', 'broker', 'dead-lettered').map((e) => e.event.id)).toEqual(['rf-1']);
    expect((await callsFor('refused'))[0]).toMatchObject({
      status: 'failed',
      error: { code: 'BROKER_TOOL_NOT_ALLOWED' },
    });
    expect(await core.queuedJobs()).toBe(0);
  });

  it('with a wrong key the receive is refused (401) and the events stay for a consumer that may read them', async () => {
    await publish('wrong-key', [
      { id: 'wk-1', type: 'Contoso.Orders.Created', subject: '/orders/9', data: { orderId: 'O-9' } },
    ]);
    const { pull } = source('wrong-key', { key: Buffer.from('not-the-key').toString('base64') });
    await expect(pull.pollOnce()).rejects.toMatchObject({ statusCode: 401 });
    expect(namespace.events('wrong-key', 'broker', 'available').map((e) => e.event.id)).toEqual(['wk-1']);
    expect(await callsFor('wrong-key')).toHaveLength(0);
  });

  it('releases an event when the core fails transiently (Redis unreachable), and a later receive makes it one call', async () => {
    await publish('transient', [
      { id: 'tr-1', type: 'Contoso.Orders.Created', subject: '/orders/2', data: { orderId: 'O-2' } },
    ]);
    const down: ToolCallAcceptor = {
      accept: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
      },
    };
    const failing = source('transient', { acceptor: down });
    await failing.pull.pollOnce();
    expect(failing.pull.status()).toMatchObject({ received: 1, released: 1, acknowledged: 0 });
    expect(namespace.events('transient', 'broker', 'available').map((e) => e.event.id)).toEqual(['tr-1']);
    const healthy = source('transient');
    await healthy.pull.pollOnce();
    expect(healthy.pull.status()).toMatchObject({ acknowledged: 1 });
    const calls = await callsFor('transient');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ status: 'queued', tool: 'generate_contract', arguments: { order_id: 'O-2' } });
  });

  it('makes a duplicate delivery of one event id one call, and acknowledges both', async () => {
    const event = { id: 'dup-1', type: 'Contoso.Orders.Created', subject: '/orders/3', data: { orderId: 'O-3' } };
    await publish('duplicate', [event, event]);
    const { pull } = source('duplicate', { over: { maxEvents: 10 } });
    await pull.pollOnce();
    expect(pull.status()).toMatchObject({ received: 2, acknowledged: 2 });
    expect(await callsFor('duplicate')).toHaveLength(1);
  });

  it('a consumer killed between receive and acknowledge: the lock expires, the event comes again, still one call', async () => {
    await publish('killed', [
      { id: 'k-1', type: 'Contoso.Orders.Created', subject: '/orders/4', data: { orderId: 'O-4' } },
    ]);
    let recorded = false;
    // Records the call, then never returns: the consumer is gone before it could acknowledge.
    const dies: ToolCallAcceptor = {
      accept: async (caller, request, options) => {
        await core.intake.accept(caller, request, options);
        recorded = true;
        return new Promise(() => {});
      },
    };
    const first = source('killed', { acceptor: dies });
    void first.pull.pollOnce().catch(() => {});
    await waitFor('the first consumer to record the call', () => recorded);
    expect(namespace.events('killed', 'broker', 'locked')).toHaveLength(1);

    const second = source('killed');
    await waitFor('the redelivery after the lock expired', async () => (await second.pull.pollOnce()) > 0);
    expect(second.pull.status()).toMatchObject({ acknowledged: 1 });
    expect(namespace.events('killed', 'broker', 'acknowledged')[0]).toMatchObject({ deliveryCount: 2 });
    expect(await callsFor('killed')).toHaveLength(1);
  });

  it('turns a routed event into a queued tool call and acknowledges it only then (started loop, stopped cleanly)', async () => {
    const before = await core.queuedJobs();
    const { pull } = source('happy');
    pull.start();
    await publish('happy', [
      { id: 'h-1', type: 'contoso.orders.created', subject: '/Orders/5', data: { orderId: 'O-5' } },
    ]);
    await waitFor(
      'the event to be acknowledged',
      () => namespace.events('happy', 'broker', 'acknowledged').length === 1,
    );
    await pull.stop();
    const [call] = await callsFor('happy');
    expect(call).toMatchObject({
      status: 'queued',
      tool: 'generate_contract',
      arguments: { order_id: 'O-5' },
      idempotencyKey: 'eventgrid:pull:orders-happy:h-1',
      source: { kind: 'event-grid', reference: 'pull:orders-happy:h-1' },
    });
    expect(await core.queuedJobs()).toBe(before + 1);
  });
});

import { createHash, randomUUID } from 'node:crypto';
import { EventGridSenderClient, AzureKeyCredential as NamespaceKeyCredential } from '@azure/eventgrid-namespaces';
import {
  createSelfSignedCertificate,
  type EventGridNamespaceSandbox,
  type EventGridTopicSandbox,
  EventGridWebhookDriver,
  startEventGridNamespaceSandbox,
  startEventGridTopicSandbox,
  trustCertificate,
} from '@mcp-broker/event-grid-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

// Event Grid end to end on real peers: an event pushed to ingress's webhook (or published to a
// namespace topic and pulled by the worker) becomes a call of the governed MCP server on
// caller-a's identity, and its outcome is published as a CloudEvent to a custom topic, through
// the real @azure/eventgrid clients against the sandbox.

const KEY = randomUUID();
const TOPIC_KEY = Buffer.from(randomUUID()).toString('base64');
const NAMESPACE_KEY = Buffer.from(randomUUID()).toString('base64');
let topics: EventGridTopicSandbox;
let namespace: EventGridNamespaceSandbox;
let stack: BrokerStack;

const route = {
  eventType: 'Contoso.Echo.*',
  tool: 'test_echo',
  arguments: '{ "message": data.message }',
  writeBack: '{ "type": "event-grid", "topic": "results", "subject": subject }',
};

beforeAll(async () => {
  const certificate = createSelfSignedCertificate();
  trustCertificate(certificate.cert);
  topics = await startEventGridTopicSandbox({
    certificate,
    topics: [{ name: 'results', inputSchema: 'CloudEventSchemaV1_0', access: { keys: [TOPIC_KEY] } }],
  });
  namespace = await startEventGridNamespaceSandbox({
    certificate,
    access: { keys: [NAMESPACE_KEY] },
    topics: [{ name: 'requests', subscriptions: [{ name: 'broker' }] }],
  });
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: '127.0.0.1',
    roles: ['Test.Echo'],
    eventGrid: {
      env: { E2E_EG_TOPIC_KEY: TOPIC_KEY, E2E_EG_NAMESPACE_KEY: NAMESPACE_KEY },
      section: {
        push: [
          {
            id: 'echoes',
            caller: 'caller-a',
            auth: { type: 'key', keyHash: `sha256:${createHash('sha256').update(KEY).digest('hex')}` },
            routes: [route],
          },
        ],
        pull: [
          {
            id: 'echo-requests',
            caller: 'caller-a',
            endpoint: namespace.url,
            topic: 'requests',
            subscription: 'broker',
            credential: { type: 'access-key', key: { fromEnv: 'E2E_EG_NAMESPACE_KEY' } },
            routes: [route],
            maxWaitSeconds: 10,
          },
        ],
        topics: [
          {
            id: 'results',
            kind: 'topic',
            endpoint: topics.endpointFor('results'),
            credential: { type: 'access-key', key: { fromEnv: 'E2E_EG_TOPIC_KEY' } },
            typePrefix: 'com.contoso.broker',
            callers: ['caller-a'],
          },
        ],
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await topics?.close();
  await namespace?.close();
});

async function resultFor(subject: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = topics.published('results').find((p) => p.event.subject === subject);
    if (found) return found.event as { id: string; type: string; data: Record<string, unknown> };
    if (Date.now() > deadline) throw new Error(`no result event with subject ${subject}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Event Grid end to end', () => {
  it('a pushed CloudEvent becomes a governed tool call whose outcome is published to the result topic', async () => {
    const driver = new EventGridWebhookDriver({
      endpointUrl: `${stack.ingressUrl}/webhooks/eventgrid/echoes`,
      schema: 'CloudEventSchemaV1_0',
      subscriptionName: 'echoes',
      headers: { 'x-event-grid-key': KEY },
    });
    await driver.validate();
    const id = randomUUID();
    const outcome = await driver.deliver([
      {
        specversion: '1.0',
        id,
        source: '/contoso',
        type: 'Contoso.Echo.Requested',
        subject: `push/${id}`,
        data: { message: `push-${id.slice(0, 8)}` },
      },
    ]);
    expect(outcome.outcome).toBe('delivered');
    const callId = (JSON.parse(outcome.attempts[0]!.body) as { accepted: { callId: string }[] }).accepted[0]?.callId;
    const event = await resultFor(`push/${id}`);
    expect(event).toMatchObject({
      id: `${callId}.0.0`,
      type: 'com.contoso.broker.toolcall.succeeded',
      data: { callId, caller: 'caller-a', tool: 'test_echo', status: 'succeeded' },
    });
    expect(JSON.stringify(event.data.result)).toContain(`push-${id.slice(0, 8)}`);
  });

  it('an event pulled from a namespace topic becomes one call; a transient publish failure is retried and recorded', async () => {
    topics.failNext(1, { kind: 'status', status: 503 });
    const id = randomUUID();
    await new EventGridSenderClient(namespace.url, new NamespaceKeyCredential(NAMESPACE_KEY), 'requests').sendEvents({
      id,
      source: '/contoso',
      type: 'Contoso.Echo.Requested',
      subject: `pull/${id}`,
      data: { message: `pull-${id.slice(0, 8)}` },
    });
    const event = await resultFor(`pull/${id}`);
    expect(event.type).toBe('com.contoso.broker.toolcall.succeeded');
    const callId = event.data.callId as string;
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls/${callId}`, {
      headers: { authorization: stack.auth('caller-a') },
    });
    const view = (await res.json()) as {
      source: { kind: string };
      deliveries: { kind: string; status: string; attempts: number; unconfirmedAttempts?: number }[];
    };
    expect(view.source.kind).toBe('event-grid');
    expect(view.deliveries[0]).toMatchObject({
      kind: 'event-grid',
      status: 'delivered',
      attempts: 2,
      unconfirmedAttempts: 1,
    });
    expect(namespace.events('requests', 'broker', 'acknowledged').map((e) => e.event.id)).toContain(id);
    expect(topics.published('results').filter((p) => p.event.id === event.id)).toHaveLength(1);
  });
});

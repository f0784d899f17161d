import { AzureKeyCredential, EventGridPublisherClient, generateSharedAccessSignature } from '@azure/eventgrid';
import {
  EventGridReceiverClient,
  EventGridSenderClient,
  AzureKeyCredential as NamespaceKeyCredential,
} from '@azure/eventgrid-namespaces';
import { createTokenVerifier } from '@mcp-broker/auth';
import { type LocalTestIssuer, startLocalTestIssuer } from '@mcp-broker/auth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSelfSignedCertificate,
  EVENT_GRID_AUDIENCE,
  type EventGridNamespaceSandbox,
  type EventGridTopicSandbox,
  startEventGridNamespaceSandbox,
  startEventGridTopicSandbox,
  trustCertificate,
} from './index.ts';

const KEY = Buffer.from('sandbox-topic-key-0123456789abcdef').toString('base64');
const SENDER = 'broker-app';

let issuer: LocalTestIssuer;
let topics: EventGridTopicSandbox;
let namespace: EventGridNamespaceSandbox;

/** A TokenCredential backed by the loopback OIDC issuer: real JWTs the sandbox verifies against its JWKS. */
function credentialFor(subject: string, audience = EVENT_GRID_AUDIENCE) {
  return {
    async getToken() {
      const token = await issuer.sign({ sub: subject, azp: subject, aud: audience });
      return { token, expiresOnTimestamp: Date.now() + 300_000 };
    },
  };
}

beforeAll(async () => {
  issuer = await startLocalTestIssuer();
  const certificate = createSelfSignedCertificate();
  trustCertificate(certificate.cert);
  const verifier = createTokenVerifier({ issuers: [{ issuer: issuer.issuer }], audience: EVENT_GRID_AUDIENCE });
  topics = await startEventGridTopicSandbox({
    certificate,
    topics: [
      {
        name: 'eg',
        inputSchema: 'EventGridSchema',
        access: { keys: [KEY], entra: { verifier, principals: [SENDER] } },
      },
      { name: 'ce', inputSchema: 'CloudEventSchemaV1_0', access: { keys: [KEY] } },
    ],
  });
  namespace = await startEventGridNamespaceSandbox({
    certificate,
    access: { keys: [KEY], entra: { verifier, principals: [SENDER] } },
    topics: [
      {
        name: 'requests',
        subscriptions: [
          { name: 'broker', lockDurationSeconds: 1, maxDeliveryCount: 2 },
          { name: 'other', includedEventTypes: ['only.this'] },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await topics?.close();
  await namespace?.close();
  await issuer?.close();
});

describe('topic endpoint', () => {
  it('refuses a wrong aeg-sas-key with 401 and accepts nothing', async () => {
    const client = new EventGridPublisherClient(
      topics.endpointFor('eg'),
      'EventGrid',
      new AzureKeyCredential('d3Jvbmc='),
    );
    await expect(client.send([{ eventType: 'x', subject: 's', dataVersion: '1', data: {} }])).rejects.toMatchObject({
      statusCode: 401,
    });
    expect(topics.published('eg')).toHaveLength(0);
  });

  it('refuses a token for another audience (401) and a principal without the sender role (403)', async () => {
    const wrongAudience = new EventGridPublisherClient(
      topics.endpointFor('eg'),
      'EventGrid',
      credentialFor(SENDER, 'api://other'),
    );
    await expect(
      wrongAudience.send([{ eventType: 'x', subject: 's', dataVersion: '1', data: {} }]),
    ).rejects.toMatchObject({
      statusCode: 401,
    });
    const noRole = new EventGridPublisherClient(topics.endpointFor('eg'), 'EventGrid', credentialFor('someone-else'));
    await expect(noRole.send([{ eventType: 'x', subject: 's', dataVersion: '1', data: {} }])).rejects.toMatchObject({
      statusCode: 403,
    });
  });

  it('refuses CloudEvents on an Event Grid schema topic (content type of another input schema)', async () => {
    const client = new EventGridPublisherClient(topics.endpointFor('eg'), 'CloudEvent', new AzureKeyCredential(KEY));
    await expect(client.send([{ type: 't', source: '/s', data: {} }])).rejects.toMatchObject({ statusCode: 400 });
  });

  it('refuses a batch over 1 MB with 413', async () => {
    const client = new EventGridPublisherClient(topics.endpointFor('ce'), 'CloudEvent', new AzureKeyCredential(KEY));
    await expect(
      client.send([{ type: 't', source: '/s', data: { blob: 'x'.repeat(1_100_000) } }]),
    ).rejects.toMatchObject({
      statusCode: 413,
    });
  });

  it('accepts Event Grid events by key, by SAS token and by Entra token', async () => {
    const byKey = new EventGridPublisherClient(topics.endpointFor('eg'), 'EventGrid', new AzureKeyCredential(KEY));
    await byKey.send([{ eventType: 'a.b', subject: 'one', dataVersion: '1', data: { n: 1 } }]);
    const sas = await generateSharedAccessSignature(
      topics.endpointFor('eg'),
      new AzureKeyCredential(KEY),
      new Date(Date.now() + 60_000),
    );
    const { AzureSASCredential } = await import('@azure/eventgrid');
    const bySas = new EventGridPublisherClient(topics.endpointFor('eg'), 'EventGrid', new AzureSASCredential(sas));
    await bySas.send([{ eventType: 'a.b', subject: 'two', dataVersion: '1', data: { n: 2 } }]);
    const byToken = new EventGridPublisherClient(topics.endpointFor('eg'), 'EventGrid', credentialFor(SENDER));
    await byToken.send([{ eventType: 'a.b', subject: 'three', dataVersion: '1', data: { n: 3 } }]);
    expect(topics.published('eg').map((p) => p.event.subject)).toEqual(['one', 'two', 'three']);
  });

  it('accepts a CloudEvents batch on a CloudEvents topic', async () => {
    const client = new EventGridPublisherClient(topics.endpointFor('ce'), 'CloudEvent', new AzureKeyCredential(KEY));
    await client.send([{ type: 't', source: '/s', id: 'ce-1', data: { ok: true } }]);
    expect(topics.published('ce').at(-1)?.event).toMatchObject({ id: 'ce-1', specversion: '1.0' });
    expect(topics.published('ce').at(-1)?.contentType).toBe('application/cloudevents-batch+json');
  });
});

describe('namespace topic with pull delivery', () => {
  const sender = () => new EventGridSenderClient(namespace.url, new NamespaceKeyCredential(KEY), 'requests');
  const receiver = () =>
    new EventGridReceiverClient(namespace.url, new NamespaceKeyCredential(KEY), 'requests', 'broker');

  it('refuses a wrong key and an unknown subscription', async () => {
    const wrong = new EventGridSenderClient(namespace.url, new NamespaceKeyCredential('bm9wZQ=='), 'requests');
    await expect(wrong.sendEvents({ type: 't', source: '/s', id: '1', data: {} })).rejects.toMatchObject({
      statusCode: 401,
    });
    const missing = new EventGridReceiverClient(namespace.url, new NamespaceKeyCredential(KEY), 'requests', 'nope');
    await expect(missing.receiveEvents({ maxWaitTime: 10 })).rejects.toMatchObject({ statusCode: 404 });
  });

  it('delivers, acknowledges and filters by event type', async () => {
    await sender().sendEvents([{ type: 'ack.me', source: '/s', id: 'n-1', data: { a: 1 } }]);
    const received = await receiver().receiveEvents({ maxEvents: 10, maxWaitTime: 10 });
    expect(received.details).toHaveLength(1);
    expect(received.details[0]?.event).toMatchObject({ id: 'n-1', type: 'ack.me', data: { a: 1 } });
    expect(received.details[0]?.brokerProperties.deliveryCount).toBe(1);
    const ack = await receiver().acknowledgeEvents([received.details[0]!.brokerProperties.lockToken]);
    expect(ack.succeededLockTokens).toHaveLength(1);
    const again = await receiver().acknowledgeEvents([received.details[0]!.brokerProperties.lockToken]);
    expect(again.failedLockTokens[0]?.error).toMatchObject({ code: 'TokenLost' });
    expect(namespace.events('requests', 'other')).toHaveLength(0);
  });

  it('redelivers after a lock expires and dead-letters past the max delivery count', async () => {
    await sender().sendEvents({ type: 'expire.me', source: '/s', id: 'n-2', data: {} });
    const first = await receiver().receiveEvents({ maxWaitTime: 10 });
    expect(first.details[0]?.brokerProperties.deliveryCount).toBe(1);
    const second = await receiver().receiveEvents({ maxWaitTime: 10 });
    expect(second.details[0]?.event.id).toBe('n-2');
    expect(second.details[0]?.brokerProperties.deliveryCount).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(namespace.events('requests', 'broker', 'dead-lettered').map((e) => e.event.id)).toContain('n-2');
  });

  it('releases with a delay, and rejects into the dead letters', async () => {
    await sender().sendEvents([
      { type: 'release.me', source: '/s', id: 'n-3', data: {} },
      { type: 'reject.me', source: '/s', id: 'n-4', data: {} },
    ]);
    const got = await receiver().receiveEvents({ maxEvents: 2, maxWaitTime: 10 });
    const byId = new Map(got.details.map((d) => [d.event.id, d.brokerProperties.lockToken]));
    await expect(receiver().releaseEvents([byId.get('n-3')!], { releaseDelay: '7' })).rejects.toMatchObject({
      statusCode: 400,
    });
    expect(
      (await receiver().releaseEvents([byId.get('n-3')!], { releaseDelay: '10' })).succeededLockTokens,
    ).toHaveLength(1);
    expect((await receiver().rejectEvents([byId.get('n-4')!])).succeededLockTokens).toHaveLength(1);
    expect(namespace.events('requests', 'broker', 'dead-lettered').map((e) => e.event.id)).toContain('n-4');
    expect(namespace.events('requests', 'broker', 'available').map((e) => e.event.id)).toContain('n-3');
  });

  it('accepts an Entra token with the receiver role', async () => {
    const client = new EventGridSenderClient(namespace.url, credentialFor(SENDER), 'requests');
    await client.sendEvents({ type: 'only.this', source: '/s', id: 'n-5', data: {} });
    expect(namespace.events('requests', 'other').map((e) => e.event.id)).toEqual(['n-5']);
  });
});

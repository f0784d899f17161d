import { EventGridSenderClient, AzureKeyCredential as NamespaceKeyCredential } from '@azure/eventgrid-namespaces';
import { eventGridConfigSchema } from '@mcp-broker/broker-config';
import {
  createSelfSignedCertificate,
  startEventGridNamespaceSandbox,
  trustCertificate,
} from '@mcp-broker/event-grid-sandbox';
import { describe, expect, it } from 'vitest';
import { coreUnderTest, recordingLogger, waitFor } from '../test-support/broker-core.ts';
import { createEventGridWorkerSide } from './event-grid-worker.ts';

const KEY = Buffer.from('worker-side-namespace-key-012345').toString('base64');

describe('the worker side built from the eventGrid configuration', () => {
  it('runs a receive loop per pull subscription until stopped, and offers the event-grid target when topics are configured', async () => {
    const certificate = createSelfSignedCertificate();
    trustCertificate(certificate.cert);
    const namespace = await startEventGridNamespaceSandbox({
      certificate,
      access: { keys: [KEY] },
      topics: [{ name: 'requests', subscriptions: [{ name: 'broker' }] }],
    });
    const core = await coreUnderTest();
    try {
      const config = eventGridConfigSchema.parse({
        pull: [
          {
            id: 'orders',
            caller: 'orders-app',
            endpoint: namespace.url,
            topic: 'requests',
            subscription: 'broker',
            credential: { type: 'access-key', key: { fromEnv: 'EG_KEY' } },
            routes: [{ eventType: '*', tool: 'generate_contract' }],
            maxWaitSeconds: 10,
          },
        ],
        topics: [
          {
            id: 'results',
            kind: 'topic',
            endpoint: 'https://results.westeurope-1.eventgrid.azure.net/api/events',
            credential: { type: 'access-key', key: { fromEnv: 'EG_KEY' } },
            callers: ['orders-app'],
          },
        ],
      });
      const side = createEventGridWorkerSide({
        config,
        callers: [core.caller],
        acceptor: core.intake,
        logger: recordingLogger(),
        env: { EG_KEY: KEY },
      });
      expect(side.writeBackHandlers.map((h) => h.type)).toEqual(['event-grid']);
      side.start();
      await new EventGridSenderClient(namespace.url, new NamespaceKeyCredential(KEY), 'requests').sendEvents({
        id: 'w-1',
        type: 'Contoso.Orders.Created',
        source: '/contoso',
        data: { order_id: 'O-1' },
      });
      await waitFor(
        'the event to be acknowledged',
        () => namespace.events('requests', 'broker', 'acknowledged').length === 1,
      );
      await side.stop();
      expect(side.status()).toEqual([
        expect.objectContaining({ subscription: 'orders', received: 1, acknowledged: 1 }),
      ]);
      expect((await core.calls()).map((c) => c.arguments)).toEqual([{ order_id: 'O-1' }]);
    } finally {
      await namespace.close();
      await core.close();
    }
  });
});

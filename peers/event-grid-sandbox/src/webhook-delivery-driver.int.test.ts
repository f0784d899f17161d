import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventGridWebhookDriver } from './webhook-delivery-driver.ts';

interface Seen {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server | undefined;

/** A webhook receiver answering with `answers` in turn (the last one repeats), recording what it was sent. */
async function receiver(answers: { status: number; body?: unknown; headers?: Record<string, string> }[]) {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)] ?? { status: 200 };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen };
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

const event = {
  id: 'e-1',
  subject: 's',
  eventType: 't',
  eventTime: '2026-12-02T00:00:00Z',
  data: {},
  dataVersion: '1',
};

describe('EventGridWebhookDriver', () => {
  it('retries 503 and 429 on the schedule, with aeg-delivery-count rising, until the endpoint accepts', async () => {
    const hook = await receiver([{ status: 503 }, { status: 429 }, { status: 200 }]);
    const driver = new EventGridWebhookDriver({
      endpointUrl: hook.url,
      schema: 'EventGridSchema',
      subscriptionName: 'orders',
      retryDelaysMs: [10],
    });
    const outcome = await driver.deliver([event]);
    expect(outcome.outcome).toBe('delivered');
    expect(outcome.attempts.map((a) => a.status)).toEqual([503, 429, 200]);
    expect(hook.seen.map((s) => s.headers['aeg-delivery-count'])).toEqual(['0', '1', '2']);
    expect(hook.seen[0]?.headers).toMatchObject({
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': 'ORDERS',
      'content-type': 'application/json',
    });
    expect(JSON.parse(hook.seen[0]?.body ?? '')).toEqual([event]);
  });

  it('dead-letters at once on 400, 401, 403 and 413, and after the attempts on anything else', async () => {
    for (const status of [400, 401, 403, 413]) {
      const hook = await receiver([{ status }]);
      const outcome = await new EventGridWebhookDriver({
        endpointUrl: hook.url,
        schema: 'EventGridSchema',
        subscriptionName: 's',
      }).deliver([event]);
      expect(outcome).toMatchObject({ outcome: 'dead-lettered', reason: 'no-retry-status' });
      expect(hook.seen).toHaveLength(1);
      await new Promise<void>((resolve) => server?.close(() => resolve()));
      server = undefined;
    }
    const hook = await receiver([{ status: 500 }]);
    const outcome = await new EventGridWebhookDriver({
      endpointUrl: hook.url,
      schema: 'EventGridSchema',
      subscriptionName: 's',
      retryDelaysMs: [5],
      maxDeliveryAttempts: 3,
    }).deliver([event]);
    expect(outcome).toMatchObject({ outcome: 'dead-lettered', reason: 'attempts-exhausted' });
    expect(hook.seen).toHaveLength(3);
  });

  it('sends one CloudEvent structured and several as a batch', async () => {
    const hook = await receiver([{ status: 200 }]);
    const driver = new EventGridWebhookDriver({
      endpointUrl: hook.url,
      schema: 'CloudEventSchemaV1_0',
      subscriptionName: 's',
    });
    await driver.deliver([{ id: '1' }]);
    await driver.deliver([{ id: '1' }, { id: '2' }]);
    expect(hook.seen.map((s) => s.headers['content-type'])).toEqual([
      'application/cloudevents+json; charset=utf-8',
      'application/cloudevents-batch+json; charset=utf-8',
    ]);
    expect(JSON.parse(hook.seen[0]?.body ?? '')).toEqual({ id: '1' });
  });

  it('fails the handshakes of an endpoint that answers them wrong', async () => {
    const wrongCode = await receiver([{ status: 200, body: { validationResponse: 'not-the-code' } }]);
    await expect(
      new EventGridWebhookDriver({
        endpointUrl: wrongCode.url,
        schema: 'EventGridSchema',
        subscriptionName: 's',
      }).validate(),
    ).rejects.toThrow(/Subscription validation failed/);
    expect(wrongCode.seen[0]?.headers['aeg-event-type']).toBe('SubscriptionValidation');
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const noOrigin = await receiver([{ status: 200 }]);
    await expect(
      new EventGridWebhookDriver({
        endpointUrl: noOrigin.url,
        schema: 'CloudEventSchemaV1_0',
        subscriptionName: 's',
      }).validate(),
    ).rejects.toThrow(/WebHook-Allowed-Origin \(none\)/);
    expect(noOrigin.seen[0]).toMatchObject({
      method: 'OPTIONS',
      headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
    });
  });
});

/**
 * Contract test against a real Service Bus namespace: the behaviours the peer models (and the
 * broker relies on) checked on the service itself. Runs only when SERVICE_BUS_CONNECTION_STRING is
 * set (a namespace-level SAS connection string with Manage or Send+Listen), with a queue named by
 * SERVICE_BUS_CONTRACT_QUEUE (default `mcp-broker-contract`; lock duration ≤ 1 minute, max delivery
 * count ≥ 3, duplicate detection on). Skipped otherwise; the README says which ran.
 */

import { randomUUID } from 'node:crypto';
import { isServiceBusError, ServiceBusClient } from '@azure/service-bus';
import { afterAll, describe, expect, it } from 'vitest';

const connectionString = process.env.SERVICE_BUS_CONNECTION_STRING;
const queue = process.env.SERVICE_BUS_CONTRACT_QUEUE ?? 'mcp-broker-contract';
const clients: ServiceBusClient[] = [];

function client(cs = connectionString ?? ''): ServiceBusClient {
  const created = new ServiceBusClient(cs, { retryOptions: { maxRetries: 0, timeoutInMs: 20_000 } });
  clients.push(created);
  return created;
}

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
});

describe.skipIf(!connectionString)('Service Bus contract (real namespace)', () => {
  it('a token signed with a wrong key is UnauthorizedAccess', async () => {
    const wrong = (connectionString ?? '').replace(
      /SharedAccessKey=[^;]+/,
      `SharedAccessKey=${Buffer.from(randomUUID()).toString('base64')}`,
    );
    const error = await client(wrong)
      .createSender(queue)
      .sendMessages({ body: 'x' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isServiceBusError(error) && error.code).toBe('UnauthorizedAccess');
  });

  it('keeps the properties; abandon counts a delivery; renew extends the lock; dead-letter carries reason and description', async () => {
    const sb = client();
    const messageId = `contract-${randomUUID()}`;
    await sb.createSender(queue).sendMessages({
      body: { tool: 'generate_contract', arguments: {} },
      messageId,
      correlationId: 'req-contract',
      subject: 'toolcall.request',
      applicationProperties: { caller: 'acme' },
    });
    const receiver = sb.createReceiver(queue, { maxAutoLockRenewalDurationInMs: 0 });
    const take = async () => {
      for (let i = 0; i < 10; i += 1) {
        const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
        if (message?.messageId === messageId) return message;
        if (message) await receiver.abandonMessage(message);
      }
      throw new Error('the contract message did not arrive');
    };
    const first = await take();
    expect(first).toMatchObject({
      body: { tool: 'generate_contract', arguments: {} },
      correlationId: 'req-contract',
      subject: 'toolcall.request',
      applicationProperties: { caller: 'acme' },
      deliveryCount: 0,
    });
    const until = first.lockedUntilUtc?.getTime() ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const renewed = await receiver.renewMessageLock(first);
    expect(renewed.getTime()).toBeGreaterThan(until);
    await receiver.abandonMessage(first);
    const second = await take();
    expect(second.deliveryCount).toBe(1);
    await receiver.deadLetterMessage(second, {
      deadLetterReason: 'BROKER_TOOL_NOT_FOUND',
      deadLetterErrorDescription: 'contract test',
    });
    const dlq = sb.createReceiver(queue, { subQueueType: 'deadLetter' });
    for (let i = 0; i < 10; i += 1) {
      const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
      if (!dead) continue;
      await dlq.completeMessage(dead);
      if (dead.messageId !== messageId) continue;
      expect(dead).toMatchObject({
        deadLetterReason: 'BROKER_TOOL_NOT_FOUND',
        deadLetterErrorDescription: 'contract test',
      });
      return;
    }
    throw new Error('the dead-lettered message did not arrive');
  });

  it('duplicate detection keeps one message per messageId', async () => {
    const sb = client();
    const messageId = `contract-dup-${randomUUID()}`;
    const sender = sb.createSender(queue);
    await sender.sendMessages({ body: 1, messageId });
    await sender.sendMessages({ body: 2, messageId });
    const receiver = sb.createReceiver(queue);
    const seen: unknown[] = [];
    for (let i = 0; i < 5; i += 1) {
      const batch = await receiver.receiveMessages(10, { maxWaitTimeInMs: 3_000 });
      for (const message of batch) {
        if (message.messageId === messageId) seen.push(message.body);
        await receiver.completeMessage(message);
      }
    }
    expect(seen).toEqual([1]);
  });
});

/**
 * The peer through the real `@azure/service-bus` SDK: what the SDK sees must be what Service Bus
 * would show it (error codes, message properties, settlement, locks, dead-lettering).
 */

import { type ServiceBusClient as Client, isServiceBusError, ServiceBusClient } from '@azure/service-bus';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceBusPeer } from './index.ts';

const noRetry = { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } };
const opened: { peer?: ServiceBusPeer; clients: Client[] } = { clients: [] };

afterEach(async () => {
  for (const client of opened.clients.splice(0)) await client.close().catch(() => {});
  await opened.peer?.close();
  opened.peer = undefined;
});

async function startPeer(options: Parameters<typeof ServiceBusPeer.start>[0]): Promise<ServiceBusPeer> {
  opened.peer = await ServiceBusPeer.start(options);
  return opened.peer;
}

function clientFor(connectionString: string): Client {
  const client = new ServiceBusClient(connectionString, noRetry);
  opened.clients.push(client);
  return client;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('claims-based security', () => {
  it('refuses a token signed with the wrong key: UnauthorizedAccess, nothing enqueued', async () => {
    const peer = await startPeer({ queues: { orders: {} } });
    const client = clientFor(peer.connectionString(undefined, Buffer.from('not the key').toString('base64')));
    const error = await errorOf(client.createSender('orders').sendMessages({ body: 'x' }));
    expect(isServiceBusError(error) && error.code).toBe('UnauthorizedAccess');
    expect(String((error as Error).message)).toMatch(/InvalidSignature/);
    expect(peer.entity('orders').messages()).toHaveLength(0);
    expect(peer.stats.putTokensRefused).toBeGreaterThan(0);
    expect(peer.stats.putTokensAccepted).toBe(0);
  });

  it('refuses a key name the namespace does not have', async () => {
    const peer = await startPeer({ queues: { orders: {} } });
    const policy = peer.policies[0];
    const client = clientFor(
      peer.connectionString().replace(`SharedAccessKeyName=${policy?.name}`, 'SharedAccessKeyName=nobody'),
    );
    const error = await errorOf(client.createSender('orders').sendMessages({ body: 'x' }));
    expect(isServiceBusError(error) && error.code).toBe('UnauthorizedAccess');
  });

  it('a Send-only policy cannot receive: the Listen claim is required', async () => {
    const peer = await startPeer({
      policies: [{ name: 'sender', key: 'c2VuZGVyLWtleQ==', rights: ['Send'] }],
      queues: { orders: {} },
    });
    const client = clientFor(peer.connectionString('sender'));
    await client.createSender('orders').sendMessages({ body: 'ok' });
    const error = await errorOf(client.createReceiver('orders').receiveMessages(1, { maxWaitTimeInMs: 2_000 }));
    expect(isServiceBusError(error) && error.code).toBe('UnauthorizedAccess');
    expect(String((error as Error).message)).toMatch(/'Listen' claim/);
    expect(peer.entity('orders').messages()).toHaveLength(1);
  });

  it('an unknown entity is MessagingEntityNotFound', async () => {
    const peer = await startPeer({ queues: { orders: {} } });
    const error = await errorOf(clientFor(peer.connectionString()).createSender('nowhere').sendMessages({ body: 1 }));
    expect(isServiceBusError(error) && error.code).toBe('MessagingEntityNotFound');
  });
});

describe('send', () => {
  it('a refused send surfaces as the service code (ServiceBusy), and the next one goes through', async () => {
    const peer = await startPeer({ queues: { out: {} } });
    peer.failSends('out', { condition: 'com.microsoft:server-busy', description: 'The server is busy.' });
    const sender = clientFor(peer.connectionString()).createSender('out');
    const error = await errorOf(sender.sendMessages({ body: 1 }));
    expect(isServiceBusError(error) && error.code).toBe('ServiceBusy');
    await sender.sendMessages({ body: 2 });
    expect(
      peer
        .entity('out')
        .messages()
        .map((m) => m.message.body),
    ).toHaveLength(1);
  });

  it('a message over the link limit is MessageSizeExceeded', async () => {
    const peer = await startPeer({ queues: { out: {} }, maxMessageSizeBytes: 1_024 });
    const sender = clientFor(peer.connectionString()).createSender('out');
    const error = await errorOf(sender.sendMessages({ body: 'x'.repeat(4_096) }));
    expect(isServiceBusError(error) && error.code).toBe('MessageSizeExceeded');
    expect(peer.entity('out').messages()).toHaveLength(0);
  });

  it('duplicate detection keeps one message per messageId within the window', async () => {
    const peer = await startPeer({ queues: { dedup: { duplicateDetectionWindowMs: 60_000 }, plain: {} } });
    const client = clientFor(peer.connectionString());
    for (const queue of ['dedup', 'plain']) {
      const sender = client.createSender(queue);
      await sender.sendMessages({ body: 'a', messageId: 'same' });
      await sender.sendMessages({ body: 'b', messageId: 'same' });
      await sender.sendMessages([
        { body: 'c', messageId: 'same' },
        { body: 'd', messageId: 'other' },
      ]);
    }
    expect(
      peer
        .entity('dedup')
        .messages()
        .map((m) => m.message.message_id),
    ).toEqual(['same', 'other']);
    expect(peer.entity('plain').messages()).toHaveLength(4);
    expect(peer.stats.duplicatesDropped).toBe(2);
  });

  it('keeps messageId, correlationId, subject, application properties and body; topics fan out through filters', async () => {
    const peer = await startPeer({
      topics: {
        results: {
          subscriptions: {
            all: {},
            failedOnly: { filter: (message) => message.application_properties?.status === 'failed' },
          },
        },
      },
    });
    const client = clientFor(peer.connectionString());
    const sender = client.createSender('results');
    await sender.sendMessages({
      body: { ok: true },
      messageId: 'm-1',
      correlationId: 'req-1',
      subject: 'toolcall.succeeded',
      contentType: 'application/json',
      applicationProperties: { caller: 'crm', status: 'succeeded' },
    });
    await sender.sendMessages({ body: { ok: false }, messageId: 'm-2', applicationProperties: { status: 'failed' } });
    const all = await client.createReceiver('results', 'all').receiveMessages(5, { maxWaitTimeInMs: 1_000 });
    expect(all.map((m) => m.messageId)).toEqual(['m-1', 'm-2']);
    const [first] = all;
    expect(first).toMatchObject({
      body: { ok: true },
      correlationId: 'req-1',
      subject: 'toolcall.succeeded',
      contentType: 'application/json',
      applicationProperties: { caller: 'crm', status: 'succeeded' },
      deliveryCount: 0,
    });
    expect(first?.sequenceNumber?.toNumber()).toBeGreaterThan(0);
    expect(first?.lockedUntilUtc?.getTime()).toBeGreaterThan(Date.now());
    const failed = await client.createReceiver('results', 'failedOnly').receiveMessages(5, { maxWaitTimeInMs: 1_000 });
    expect(failed.map((m) => m.messageId)).toEqual(['m-2']);
  });
});

describe('peek-lock settlement', () => {
  it('complete removes the message', async () => {
    const peer = await startPeer({ queues: { q: {} } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 1 });
    const receiver = client.createReceiver('q');
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    if (!message) throw new Error('no message');
    await receiver.completeMessage(message);
    expect(peer.entity('q').messages()).toHaveLength(0);
  });

  it('abandon makes the message available again with its delivery count + 1', async () => {
    const peer = await startPeer({ queues: { q: {} } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 'again', messageId: 'a' });
    const receiver = client.createReceiver('q');
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    if (!first) throw new Error('no message');
    await receiver.abandonMessage(first);
    const [second] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(second?.messageId).toBe('a');
    expect(second?.deliveryCount).toBe(1);
  });

  it('dead-letter moves the message to <entity>/$DeadLetterQueue with reason and description', async () => {
    const peer = await startPeer({ topics: { t: { subscriptions: { s: {} } } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('t').sendMessages({ body: 'poison', messageId: 'p', applicationProperties: { k: 'v' } });
    const receiver = client.createReceiver('t', 's');
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    if (!message) throw new Error('no message');
    await receiver.deadLetterMessage(message, {
      deadLetterReason: 'BROKER_TOOL_NOT_FOUND',
      deadLetterErrorDescription: 'Tool nope is not in the catalog',
    });
    expect(peer.entity('t/Subscriptions/s').messages()).toHaveLength(0);
    const dlq = client.createReceiver('t', 's', { subQueueType: 'deadLetter' });
    const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(dead).toMatchObject({
      messageId: 'p',
      body: 'poison',
      deadLetterReason: 'BROKER_TOOL_NOT_FOUND',
      deadLetterErrorDescription: 'Tool nope is not in the catalog',
      deadLetterSource: 't/Subscriptions/s',
    });
    expect(dead?.applicationProperties?.k).toBe('v');
  });

  it('an expired lock redelivers the message (count + 1) and settling the stale copy is MessageLockLost', async () => {
    const peer = await startPeer({ queues: { q: { lockDurationMs: 600 } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 'slow', messageId: 'slow' });
    const receiver = client.createReceiver('q', { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    if (!first) throw new Error('no message');
    await new Promise((resolve) => setTimeout(resolve, 900));
    const error = await errorOf(receiver.completeMessage(first));
    expect(isServiceBusError(error) && error.code).toBe('MessageLockLost');
    const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(again?.messageId).toBe('slow');
    expect(again?.deliveryCount).toBe(1);
    if (again) await receiver.completeMessage(again);
    expect(peer.entity('q').messages()).toHaveLength(0);
  });

  it('renew-lock on $management extends the lock past its first expiry', async () => {
    const peer = await startPeer({ queues: { q: { lockDurationMs: 800 } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 'long' });
    const receiver = client.createReceiver('q', { maxAutoLockRenewalDurationInMs: 0 });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    if (!message?.lockedUntilUtc) throw new Error('no message');
    const firstUntil = message.lockedUntilUtc.getTime();
    for (let i = 0; i < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await receiver.renewMessageLock(message);
    }
    expect(message.lockedUntilUtc.getTime()).toBeGreaterThan(firstUntil);
    expect(Date.now()).toBeGreaterThan(firstUntil);
    await receiver.completeMessage(message);
    expect(peer.stats.renewLocks).toBe(3);
    expect(peer.entity('q').messages()).toHaveLength(0);
  });

  it('the SDK auto-renews the lock through the peer while a handler is slow', async () => {
    const peer = await startPeer({ queues: { q: { lockDurationMs: 1_500 } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 'slow handler' });
    const receiver = client.createReceiver('q', { maxAutoLockRenewalDurationInMs: 10_000 });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    if (!message) throw new Error('no message');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await receiver.completeMessage(message);
    expect(peer.stats.renewLocks).toBeGreaterThan(0);
    expect(peer.entity('q').messages()).toHaveLength(0);
  });

  it('at maxDeliveryCount the message is dead-lettered as MaxDeliveryCountExceeded', async () => {
    const peer = await startPeer({ queues: { q: { maxDeliveryCount: 2 } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 'x', messageId: 'x' });
    const receiver = client.createReceiver('q');
    for (let i = 0; i < 2; i += 1) {
      const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
      if (!message) throw new Error(`no delivery ${i}`);
      await receiver.abandonMessage(message);
    }
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toHaveLength(0);
    const [dead] = await client
      .createReceiver('q', { subQueueType: 'deadLetter' })
      .receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(dead?.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(dead?.deliveryCount).toBe(2);
  });

  it('receive-and-delete takes the message without a lock', async () => {
    const peer = await startPeer({ queues: { q: {} } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 'gone' });
    const [message] = await client
      .createReceiver('q', { receiveMode: 'receiveAndDelete' })
      .receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(message?.body).toBe('gone');
    expect(peer.entity('q').messages()).toHaveLength(0);
  });

  it('a dropped connection leaves the lock until it expires, then the message is delivered again', async () => {
    const peer = await startPeer({ queues: { q: { lockDurationMs: 700 } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('q').sendMessages({ body: 'kept', messageId: 'kept' });
    const [message] = await client.createReceiver('q').receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(message?.messageId).toBe('kept');
    peer.dropConnections();
    expect(peer.entity('q').messages()[0]?.lock).toBeDefined();
    const other = clientFor(peer.connectionString());
    const [again] = await other.createReceiver('q').receiveMessages(1, { maxWaitTimeInMs: 3_000 });
    expect(again?.messageId).toBe('kept');
    expect(again?.deliveryCount).toBe(1);
  });
});

describe('sessions', () => {
  it('a session receiver gets the session with the oldest message, and only its messages, in order', async () => {
    const peer = await startPeer({ queues: { s: { requiresSession: true } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('s').sendMessages([
      { body: 1, sessionId: 'a' },
      { body: 2, sessionId: 'b' },
      { body: 3, sessionId: 'a' },
    ]);
    const session = await client.acceptNextSession('s');
    expect(session.sessionId).toBe('a');
    expect(session.sessionLockedUntilUtc?.getTime()).toBeGreaterThan(Date.now());
    const messages = await session.receiveMessages(5, { maxWaitTimeInMs: 1_000 });
    expect(messages.map((m) => [m.body, m.sessionId])).toEqual([
      [1, 'a'],
      [3, 'a'],
    ]);
    for (const message of messages) await session.completeMessage(message);
    await session.renewSessionLock();
    const other = await client.acceptNextSession('s');
    expect(other.sessionId).toBe('b');
  });

  it('a locked session cannot be accepted again (SessionCannotBeLocked); with none free acceptNextSession is ServiceTimeout', async () => {
    const peer = await startPeer({ queues: { s: { requiresSession: true } } });
    const client = clientFor(peer.connectionString());
    await client.createSender('s').sendMessages({ body: 1, sessionId: 'only' });
    await client.acceptSession('s', 'only');
    const locked = await errorOf(client.acceptSession('s', 'only'));
    expect(isServiceBusError(locked) && locked.code).toBe('SessionCannotBeLocked');
    const none = await errorOf(client.acceptNextSession('s'));
    expect(isServiceBusError(none) && none.code).toBe('ServiceTimeout');
    const plain = await errorOf(client.createReceiver('s').receiveMessages(1, { maxWaitTimeInMs: 1_000 }));
    expect(String((plain as Error).message)).toMatch(/requires sessions/);
  });

  it('a session receiver that goes releases its session: the locked messages come again, count + 1', async () => {
    const peer = await startPeer({ queues: { s: { requiresSession: true } } });
    const first = clientFor(peer.connectionString());
    await first.createSender('s').sendMessages({ body: 'x', sessionId: 'k', messageId: 'x' });
    const session = await first.acceptNextSession('s');
    expect((await session.receiveMessages(1, { maxWaitTimeInMs: 1_000 }))[0]?.messageId).toBe('x');
    peer.dropConnections();
    const second = clientFor(peer.connectionString());
    const again = await second.acceptNextSession('s');
    const [message] = await again.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
    expect(message).toMatchObject({ messageId: 'x', deliveryCount: 1 });
  });
});

/**
 * Session-enabled sources: messages of one session are handled one at a time, in the order they
 * were sent; sessions are handled side by side; a refused request in a session is dead-lettered
 * and the session goes on. Real SDK against the peer, the real intake on Redis and the embedded store.
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
import { brokerConfigSchema } from '@mcp-broker/broker-config';
import { ServiceBusPeer } from '@mcp-broker/service-bus-peer';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceBusConnector } from './service-bus-connector.ts';

const prefix = `sb-sessions:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let intake: ToolCallIntake;
let peer: ServiceBusPeer;
let client: ServiceBusClient;

const validator: ArgumentValidator = {
  validate: async (_caller, tool) => (tool === 'generate_contract' ? { kind: 'ok' } : { kind: 'unknown_tool' }),
};

beforeAll(async () => {
  store = await createStore({ databaseId: `sb-sessions-${randomUUID()}` });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix });
  const repository = new ToolCallRepository({ store });
  intake = new ToolCallIntake({
    repository,
    queues,
    redis,
    prefix,
    validator,
    writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: [], env: {} }),
  });
  peer = await ServiceBusPeer.start({ queues: { ordered: { requiresSession: true, lockDurationMs: 5_000 } } });
  client = new ServiceBusClient(peer.connectionString());
});

afterAll(async () => {
  await client?.close();
  await peer?.close();
  await queues?.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await store?.close();
});

function connector(accept: ToolCallIntake['accept']): ServiceBusConnector {
  const config = brokerConfigSchema.parse({
    endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
    callers: [
      {
        id: 'acme',
        auth: { type: 'basic', username: 'acme', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
        upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://mcp/.default' } },
        tools: ['generate_contract', 'missing_tool'],
      },
    ],
    serviceBus: {
      namespaces: [{ id: 'local', credential: { type: 'connection-string', connectionString: { fromEnv: 'SB' } } }],
      sources: [
        {
          id: 'ordered',
          caller: 'acme',
          namespace: 'local',
          queue: 'ordered',
          sessions: true,
          maxConcurrentSessions: 2,
          sessionIdleMs: 300,
        },
      ],
    },
  });
  return new ServiceBusConnector({
    config: config.serviceBus,
    callers: config.callers,
    intake: { accept },
    env: { SB: peer.connectionString() },
    sessionPollMs: 50,
  });
}

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Service Bus source with sessions', () => {
  it('handles each session one message at a time in order, sessions side by side; a refusal does not stop the session', async () => {
    const seen: { session: string; step: number }[] = [];
    const inFlight = new Map<string, number>();
    let overlapWithinSession = false;
    let sessionsAtOnce = 0;
    const sb = connector(async (caller, request, options) => {
      const [session = '', step = '0'] = String(request.arguments.order ?? 'x:0').split(':');
      const now = (inFlight.get(session) ?? 0) + 1;
      inFlight.set(session, now);
      if (now > 1) overlapWithinSession = true;
      sessionsAtOnce = Math.max(sessionsAtOnce, [...inFlight.values()].filter((n) => n > 0).length);
      await new Promise((resolve) => setTimeout(resolve, 60));
      seen.push({ session, step: Number(step) });
      inFlight.set(session, now - 1);
      return intake.accept(caller, request, options);
    });
    const sender = client.createSender('ordered');
    const messages = [];
    for (let step = 1; step <= 4; step += 1) {
      for (const session of ['a', 'b']) {
        const tool = session === 'b' && step === 2 ? 'missing_tool' : 'generate_contract';
        messages.push({
          body: { tool, arguments: { order: `${session}:${step}` } },
          sessionId: session,
          messageId: randomUUID(),
        });
      }
    }
    await sender.sendMessages(messages);
    sb.start();
    try {
      await until('all eight handled', () => seen.length === 8);
      await until('all settled', () => peer.entity('ordered').messages().length === 0);
    } finally {
      await sb.close();
    }
    for (const session of ['a', 'b']) {
      expect(seen.filter((s) => s.session === session).map((s) => s.step)).toEqual([1, 2, 3, 4]);
    }
    expect(overlapWithinSession).toBe(false);
    expect(sessionsAtOnce).toBe(2);
    expect(sb.status()[0]?.outcomes).toMatchObject({ queued: 7, 'dead-lettered': 1 });
    const dlq = client.createReceiver('ordered', { subQueueType: 'deadLetter' });
    const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
    expect(dead).toMatchObject({ sessionId: 'b', deadLetterReason: 'BROKER_TOOL_NOT_FOUND' });
  });

  it('a transient failure in a session abandons the message and it is accepted again before the next one', async () => {
    const order: string[] = [];
    let failOnce = true;
    const sb = connector(async (caller, request, options) => {
      const step = String(request.arguments.order);
      if (step === 'c:1' && failOnce) {
        failOnce = false;
        order.push('c:1 failed');
        throw new Error('store unavailable');
      }
      order.push(step);
      return intake.accept(caller, request, options);
    });
    await client.createSender('ordered').sendMessages(
      [1, 2, 3].map((step) => ({
        body: { tool: 'generate_contract', arguments: { order: `c:${step}` } },
        sessionId: 'c',
        messageId: randomUUID(),
      })),
    );
    sb.start();
    try {
      await until('all three accepted', () => order.length === 4);
      await until('all settled', () => peer.entity('ordered').messages().length === 0);
    } finally {
      await sb.close();
    }
    expect(order).toEqual(['c:1 failed', 'c:1', 'c:2', 'c:3']);
    expect(sb.status()[0]?.outcomes).toMatchObject({ queued: 3, abandoned: 1 });
  });
});

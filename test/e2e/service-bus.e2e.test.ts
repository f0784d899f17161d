import { randomUUID } from 'node:crypto';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { ServiceBusPeer } from '@mcp-broker/service-bus-peer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools, invocations } from '../support/broker-test-tools.ts';

// Service Bus end to end on real peers: a request message on a queue of the Service Bus peer
// (AMQP 1.0 through the real @azure/service-bus SDK), the worker's receiver handing it to the
// core's accept() as caller-a, the governed MCP server running the tool on caller-a's identity, and
// the outcome sent by the service-bus write-back target to a results queue.

let peer: ServiceBusPeer;
let stack: BrokerStack;
let client: ServiceBusClient;

beforeAll(async () => {
  peer = await ServiceBusPeer.start({
    queues: { requests: { lockDurationMs: 5_000 }, results: { duplicateDetectionWindowMs: 600_000 } },
  });
  client = new ServiceBusClient(peer.connectionString());
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: '127.0.0.1',
    roles: ['Test.Echo'],
    serviceBus: {
      env: { E2E_SERVICE_BUS: peer.connectionString() },
      section: {
        namespaces: [
          { id: 'local', credential: { type: 'connection-string', connectionString: { fromEnv: 'E2E_SERVICE_BUS' } } },
        ],
        sources: [{ id: 'requests', caller: 'caller-a', namespace: 'local', queue: 'requests' }],
        targets: [{ id: 'results', namespace: 'local', queue: 'results', callers: ['caller-a'] }],
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await client?.close();
  await peer?.close();
});

const received: ServiceBusReceivedMessage[] = [];

/** The outcome message answering the request message `requestId` (its correlationId). */
async function outcomeFor(requestId: string, timeoutMs = 20_000): Promise<ServiceBusReceivedMessage> {
  const receiver = client.createReceiver('results');
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const found = received.find((m) => m.correlationId === requestId);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no outcome for ${requestId}`);
      for (const message of await receiver.receiveMessages(10, { maxWaitTimeInMs: 500 })) {
        received.push(message);
        await receiver.completeMessage(message);
      }
    }
  } finally {
    await receiver.close();
  }
}

describe('Service Bus end to end', () => {
  it('a request message becomes one governed tool call whose outcome comes back on the results queue', async () => {
    const messageId = randomUUID();
    const text = `sb-${messageId.slice(0, 8)}`;
    const request = {
      body: {
        tool: 'test_echo',
        arguments: { message: text },
        writeBack: [{ type: 'service-bus', destination: 'results' }],
      },
      messageId,
    };
    const sender = client.createSender('requests');
    await sender.sendMessages(request);
    const outcome = await outcomeFor(messageId);
    expect(outcome).toMatchObject({
      subject: 'toolcall.succeeded',
      applicationProperties: { caller: 'caller-a', tool: 'test_echo', status: 'succeeded' },
      body: { caller: 'caller-a', tool: 'test_echo', status: 'succeeded' },
    });
    expect(JSON.stringify(outcome.body)).toContain(text);
    // The same message again (a sender's retry): the same call, the tool not run again.
    await sender.sendMessages(request);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(peer.entity('requests').messages()).toHaveLength(0);
    expect(invocations.get(`echo:${text}`)).toBe(1);
    const callId = String((outcome.body as { callId: string }).callId);
    const view = (await (
      await fetch(`${stack.ingressUrl}/v1/tool-calls/${callId}`, { headers: { authorization: stack.auth('caller-a') } })
    ).json()) as { source: { kind: string }; deliveries: { kind: string; status: string }[] };
    expect(view.source.kind).toBe('service-bus');
    expect(view.deliveries[0]).toMatchObject({ kind: 'service-bus', status: 'delivered' });
  });

  it('a request for a tool the endpoint lacks is dead-lettered with the code, and its failure still comes back', async () => {
    const messageId = randomUUID();
    await client.createSender('requests').sendMessages({
      body: { tool: 'no_such_tool', arguments: {}, writeBack: [{ type: 'service-bus', destination: 'results' }] },
      messageId,
    });
    const outcome = await outcomeFor(messageId);
    expect(outcome).toMatchObject({
      subject: 'toolcall.failed',
      applicationProperties: { status: 'failed', errorCode: 'BROKER_TOOL_NOT_FOUND' },
    });
    const [dead] = await client
      .createReceiver('requests', { subQueueType: 'deadLetter' })
      .receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(dead).toMatchObject({ messageId, deadLetterReason: 'BROKER_TOOL_NOT_FOUND' });
  });
});

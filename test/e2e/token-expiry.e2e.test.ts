import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, settledCall, startBrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';
import { brokerTestTools, invocations } from '../support/broker-test-tools.ts';

const TOKEN_TTL_SECONDS = 2;
let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  // Upstream tokens live 2 s and the MCP server allows no clock skew, so a worker that kept a token
  // past its expiry would be refused.
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    tokenTtlSeconds: TOKEN_TTL_SECONDS,
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
}, 60_000);

async function call(message: string) {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: {
      authorization: stack.auth('caller-a'),
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ tool: 'test_echo', arguments: { message } }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  return settledCall(stack, id);
}

describe('upstream token expiry mid-run', () => {
  it('calls after the caller’s token expired succeed on a fresh token, each on its first attempt', async () => {
    const before = await call(`before-expiry-${randomUUID()}`);
    expect(before).toMatchObject({ status: 'succeeded', attempts: 1 });
    // Outlive the token the worker used (and cached) for the first call.
    await new Promise((r) => setTimeout(r, (TOKEN_TTL_SECONDS + 1) * 1000));
    const messages = Array.from({ length: 3 }, (_, i) => `after-expiry-${i}-${randomUUID()}`);
    const after = await Promise.all(messages.map(call));
    for (const outcome of after) expect(outcome).toMatchObject({ status: 'succeeded', attempts: 1 });
    for (const m of messages) expect(invocations.get(`echo:${m}`)).toBe(1);
  });
});

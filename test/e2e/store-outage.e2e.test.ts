import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    inProcessWorker: false,
  });
}, 60_000);
afterAll(async () => {
  await stack?.close().catch(() => {});
  await receiver?.close();
}, 60_000);

describe('the store is unreachable', () => {
  it('a submission gets 503 with Retry-After and the request id, not 500, and readiness names the store', async () => {
    // Warm the tool catalog, so the only thing missing below is the store.
    const key = randomUUID();
    const submit = (idempotencyKey: string) =>
      fetch(`${stack.ingressUrl}/v1/tool-calls`, {
        method: 'POST',
        headers: {
          authorization: stack.auth('caller-a'),
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify({ tool: 'test_echo', arguments: { message: 'store-outage' } }),
      });
    expect((await submit(randomUUID())).status).toBe(202);

    await stack.store.close();
    const res = await submit(key);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error).toMatchObject({ code: 'BROKER_NOT_READY', requestId: res.headers.get('x-request-id') });
    expect(body.error.message).toMatch(/Retry/);
    // Readiness says why.
    const ready = await fetch(`${stack.ingressUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { store: 'unavailable' } });
  });
});

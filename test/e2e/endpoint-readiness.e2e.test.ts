import type { StartedWorker } from '@mcp-broker/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

let stack: BrokerStack;
let worker: StartedWorker;

beforeAll(async () => {
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: '127.0.0.1',
    roles: ['Test.Echo'],
    inProcessWorker: false,
  });
  worker = await stack.startWorkerReplica({ HEALTH_PORT: '0' });
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await stack?.close();
});

describe('readiness of ingress and worker reflects the MCP endpoint', () => {
  it('is ready with the endpoint up, and 503 naming the endpoint and why once it is down', async () => {
    for (const url of [`${stack.ingressUrl}/readyz`, `${worker.healthUrl}/readyz`]) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'ready',
        checks: { redis: 'ok', store: 'ok', 'mcp:local': 'ok' },
      });
    }

    await stack.mcp.close();

    for (const url of [`${stack.ingressUrl}/readyz`, `${worker.healthUrl}/readyz`]) {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      expect(res.status, url).toBe(503);
      expect(await res.json()).toMatchObject({
        status: 'not_ready',
        checks: { redis: 'ok', store: 'ok', 'mcp:local': 'unavailable' },
        reasons: {
          'mcp:local': expect.stringMatching(
            /^MCP endpoint local \(127\.0\.0\.1:\d+\) is unreachable \(ECONNREFUSED\)$/,
          ),
        },
      });
    }
  });
});

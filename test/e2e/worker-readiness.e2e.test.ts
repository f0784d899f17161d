import { RedisProcess } from '@mcp-broker/redis-process';
import type { StartedWorker } from '@mcp-broker/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

let stack: BrokerStack;
/** A throw-away redis-server without persistence, so stopping it cannot touch the shared one. */
let redis: RedisProcess | undefined;
let worker: StartedWorker;

beforeAll(async () => {
  redis = await RedisProcess.start();
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: '127.0.0.1',
    roles: ['Test.Echo'],
    inProcessWorker: false,
  });
  worker = await stack.startWorkerReplica({ REDIS_URL: redis.url, HEALTH_PORT: '0' });
}, 60_000);
afterAll(async () => {
  // The replica first: a worker's close waits for its Redis.
  await worker?.close();
  await redis?.close();
  await stack?.close();
});

describe('the worker’s readiness while Redis is down', () => {
  it('answers 503 at once, naming Redis, and ready again once Redis is back', async () => {
    const ready = await fetch(`${worker.healthUrl}/readyz`);
    expect(ready.status).toBe(200);

    await redis?.kill();

    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const res = await fetch(`${worker.healthUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
      // Each check gives up after 1 s; the bound leaves room for a loaded machine, and is still
      // far below the probe timeouts orchestrators use (the old code never answered).
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        status: 'not_ready',
        checks: { redis: 'unavailable', store: 'ok' },
        reasons: { redis: expect.stringMatching(/Redis/) },
      });
    }

    await redis?.start();
    await expect.poll(async () => (await fetch(`${worker.healthUrl}/readyz`)).status, { timeout: 20_000 }).toBe(200);
  }, 30_000);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { StartedWorker } from '@mcp-broker/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

/** A free loopback port for a Redis of this test's own. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A throw-away redis-server without persistence, so stopping it cannot touch the shared one. */
async function startOwnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  probe.on('error', () => {});
  try {
    for (let i = 0; ; i++) {
      if (
        await probe.ping().then(
          () => true,
          () => false,
        )
      )
        break;
      if (i > 100) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    probe.disconnect();
  }
  return child;
}

let stack: BrokerStack;
let redis: ChildProcess | undefined;
let redisPort: number;
let worker: StartedWorker;

beforeAll(async () => {
  const port = await freePort();
  redisPort = port;
  redis = await startOwnRedis(port);
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: '127.0.0.1',
    roles: ['Test.Echo'],
    inProcessWorker: false,
  });
  worker = await stack.startWorkerReplica({ REDIS_URL: `redis://127.0.0.1:${port}`, HEALTH_PORT: '0' });
}, 60_000);
afterAll(async () => {
  // The replica first: a worker's close waits for its Redis.
  await worker?.close();
  if (redis && redis.exitCode === null) redis.kill('SIGKILL');
  await stack?.close();
});

describe('the worker’s readiness while Redis is down', () => {
  it('answers 503 at once, naming Redis, and ready again once Redis is back', async () => {
    const ready = await fetch(`${worker.healthUrl}/readyz`);
    expect(ready.status).toBe(200);

    const stopped = new Promise((r) => redis?.once('exit', r));
    redis?.kill('SIGKILL');
    await stopped;

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

    redis = await startOwnRedis(redisPort);
    await expect.poll(async () => (await fetch(`${worker.healthUrl}/readyz`)).status, { timeout: 20_000 }).toBe(200);
  }, 30_000);
});

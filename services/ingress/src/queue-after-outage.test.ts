import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type IngressUnderTest, ingressUnderTest } from '../test-support/ingress-under-test.ts';
import { type RedisServerProcess, startRedisServer } from '../test-support/redis-server-process.ts';

let redis: RedisServerProcess;
let t: IngressUnderTest;

beforeAll(async () => {
  redis = await startRedisServer();
  t = await ingressUnderTest({ redisUrl: redis.url });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await redis?.close();
});

const submit = (key: string) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/tool-calls',
    headers: {
      authorization: basic('apex', 'apex-password'),
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    payload: '{"tool":"echo","arguments":{"n":2}}',
  });

describe("a caller's first submission during a Redis outage", () => {
  it('answers 503, and once Redis is back the resend is accepted and its job queued (no queue stays broken)', async () => {
    // Redis goes away after the lock is taken, so the caller's queue is first built against a
    // Redis that is gone.
    const stopMonitoring = await redis.monitor((line) => {
      if (/"set" "[^"]*idem:/i.test(line)) redis.freeze();
    });
    const pending = submit('first-during-outage');
    await new Promise((r) => setTimeout(r, 500));
    stopMonitoring();
    await redis.kill();
    const during = await pending;
    expect(during.statusCode).toBe(503);
    await redis.start();
    let after = await submit('first-during-outage');
    for (let i = 0; i < 100 && after.statusCode === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await submit('first-during-outage');
    }
    // The record was made during the outage (the store was up), so the resend replays it (200)
    // and queues the job the outage cut off.
    expect([200, 202]).toContain(after.statusCode);
    const { id } = after.json() as { id: string };
    expect(await t.queues.hasLiveToolCall('apex', id)).toBe(true);
  }, 60_000);
});

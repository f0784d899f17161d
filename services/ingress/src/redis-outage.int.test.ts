import { RedisProcess } from '@mcp-broker/redis-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type IngressUnderTest, ingressUnderTest } from '../test-support/ingress-under-test.ts';

let redis: RedisProcess;
let t: IngressUnderTest;

beforeAll(async () => {
  redis = await RedisProcess.start({ aof: true });
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
    payload: '{"tool":"echo","arguments":{"n":1}}',
  });

/**
 * Freezes Redis the moment it has executed (and fsynced) an idempotency lock's SET. `frozen`
 * settles then, so the test waits for the freeze itself rather than a fixed time that a loaded
 * machine may not keep.
 */
async function freezeAtTheLock(): Promise<{ stopMonitoring: () => void; frozen: Promise<void> }> {
  let onFrozen: () => void = () => {};
  const frozen = new Promise<void>((resolve) => {
    onFrozen = resolve;
  });
  const stopMonitoring = await redis.monitor((line) => {
    if (/"set" "[^"]*idem:/i.test(line)) {
      redis.freeze();
      onFrozen();
    }
  });
  return { stopMonitoring, frozen };
}

describe('a submission cut off by a Redis outage after taking its idempotency lock', () => {
  it('answers 503, and the retry with the same key right after Redis is back is accepted, not 409', async () => {
    // The caller's queue exists before the outage (a queue first built during one is the subject
    // of the next test).
    expect((await submit('warm-up')).statusCode).toBe(202);
    // Redis freezes the moment it has executed the lock, so the rest of the request, and the
    // lock's release, meet a Redis that is gone.
    const { stopMonitoring, frozen } = await freezeAtTheLock();
    const first = submit('outage-key');
    // The request now hangs on the frozen Redis; killing it fails the pending commands.
    await frozen;
    await new Promise((r) => setTimeout(r, 200));
    stopMonitoring();
    await redis.kill();
    const answered = await first;
    expect(answered.statusCode).toBe(503);
    expect(answered.json().error.code).toBe('BROKER_NOT_READY');

    await redis.start();
    // What the docs tell a client: resend the same request with the same key.
    let retry = await submit('outage-key');
    const seen = [retry.statusCode];
    for (let i = 0; i < 300 && retry.statusCode === 503; i++) {
      // ioredis is still reconnecting; 503 again is correct, 409 is not.
      await new Promise((r) => setTimeout(r, 100));
      retry = await submit('outage-key');
      seen.push(retry.statusCode);
    }
    expect(seen).not.toContain(409);
    expect(retry.json()).not.toMatchObject({ error: { code: 'BROKER_IDEMPOTENCY_IN_PROGRESS' } });
    expect([200, 202]).toContain(retry.statusCode);
  }, 60_000);
});

describe("a caller's first submission during a Redis outage", () => {
  it('answers 503, and once Redis is back the resend is accepted and its job queued (no queue stays broken)', async () => {
    // Redis goes away after the lock is taken, so the caller's queue is first built against a
    // Redis that is gone.
    const { stopMonitoring, frozen } = await freezeAtTheLock();
    const pending = submit('first-during-outage');
    await frozen;
    await new Promise((r) => setTimeout(r, 200));
    stopMonitoring();
    await redis.kill();
    const during = await pending;
    expect(during.statusCode).toBe(503);
    await redis.start();
    let after = await submit('first-during-outage');
    for (let i = 0; i < 300 && after.statusCode === 503; i++) {
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

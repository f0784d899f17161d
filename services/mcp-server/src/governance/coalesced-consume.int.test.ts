import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoalescedConsumer } from './coalesced-consume.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('CoalescedConsumer against Redis', () => {
  let redis: Redis;
  let monitor: Redis;
  const prefix = `test-coalesce:${randomUUID()}:`;
  /** Consume scripts the client sent for the test's keys, as Redis saw them. */
  const sent: string[] = [];

  beforeAll(async () => {
    // The limiter refuses while the client is still connecting (rejectIfRedisNotReady), so the
    // tests start only once it is ready: on a loaded machine the first consume came before that.
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    monitor = await new Redis(REDIS_URL).monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(prefix)) && /^(evalsha|eval)$/i.test(args[0] ?? '')) sent.push(args[0] ?? '');
    });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    monitor?.disconnect();
    redis?.disconnect();
  });

  const consumer = (points: number, name = randomUUID()) =>
    new CoalescedConsumer(
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}${name}`,
        points,
        duration: 60,
        rejectIfRedisNotReady: true,
      }),
      points,
    );

  it('allows exactly the limit of 50 concurrent points, each seeing its own place in the count', async () => {
    const c = consumer(20);
    sent.length = 0;
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => c.consume('alice')));
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(20);
    // One point one place: the allowed ones leave 19, 18 … 0, each once, in the order asked.
    expect(outcomes.slice(0, 20).map((o) => o.remainingPoints)).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
    expect(outcomes.slice(20).every((o) => !o.allowed && o.remainingPoints === 0)).toBe(true);
    // The window counted every point, refused ones too, as 50 single consumes would have.
    const [key] = await redis.keys(`${prefix}*alice`);
    expect(Number(await redis.get(key as string))).toBe(50);
    await waitFor(() => sent.length >= 2);
    // The first went alone, the 49 asked while it was in flight went together.
    expect(sent.length).toBe(2);
  });

  it('sends a point asked alone at once, and counts sequential points one by one', async () => {
    const c = consumer(3);
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(await c.consume('bob'));
    expect(seen.map((o) => [o.allowed, o.remainingPoints])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ]);
    expect(seen.every((o) => o.msBeforeNext > 0 && o.msBeforeNext <= 60_000)).toBe(true);
  });

  it('keeps keys apart: one identity over its limit does not spend another’s points', async () => {
    const c = consumer(2);
    const [a, b] = await Promise.all([
      Promise.all([c.consume('carol'), c.consume('carol'), c.consume('carol')]),
      Promise.all([c.consume('dave'), c.consume('dave')]),
    ]);
    expect(a.map((o) => o.allowed)).toEqual([true, true, false]);
    expect(b.map((o) => o.allowed)).toEqual([true, true]);
  });

  it('rejects every point of a group when the store is unreachable, and is not left waiting on it', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    down.on('error', () => {});
    const c = new CoalescedConsumer(
      new RateLimiterRedis({
        storeClient: down,
        keyPrefix: `${prefix}down`,
        points: 5,
        duration: 60,
        rejectIfRedisNotReady: true,
      }),
      5,
    );
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => c.consume('erin')));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    // The failed group left nothing in flight: the next point is sent (and refused) at once.
    await expect(c.consume('erin')).rejects.toBeDefined();
    down.disconnect();
  });
});

async function waitFor(condition: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

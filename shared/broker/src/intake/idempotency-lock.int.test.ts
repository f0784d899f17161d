import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyLocks } from './idempotency-lock.ts';

const prefix = `idem-lock:${randomUUID()}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const key = () => `${prefix}${randomUUID()}`;

describe('idempotency locks: acquireMany / releaseMany', () => {
  it('takes every free key, leaves a key another live request holds, and gives a key repeated in the call once', async () => {
    const locks = new IdempotencyLocks(redis);
    const [free1, held, free2] = [key(), key(), key()];
    await redis.set(held, 'another-replica:token', 'PX', 10_000);
    const got = await locks.acquireMany([free1, held, free2, free1]);
    expect(got.map((l) => l !== undefined)).toEqual([true, false, true, false]);
    expect(await redis.get(held)).toBe('another-replica:token');
    await locks.releaseMany(got.filter((l) => l !== undefined));
    expect(await redis.exists(free1, free2)).toBe(0);
    expect(await redis.get(held)).toBe('another-replica:token');
  });

  it("a second group of the same process meets the first's live lock as held, not as an orphan", async () => {
    const locks = new IdempotencyLocks(redis);
    const k = key();
    const [first] = await locks.acquireMany([k]);
    expect(first).toBeDefined();
    expect(await locks.acquireMany([k])).toEqual([undefined]);
    await first?.release();
    const [again] = await locks.acquireMany([k]);
    expect(again).toBeDefined();
    await again?.release();
  });

  it("takes over this process's own orphan (a lock whose release never landed) at once, as acquire does", async () => {
    const locks = new IdempotencyLocks(redis);
    const k = key();
    const [lock] = await locks.acquireMany([k]);
    const token = await redis.get(k);
    // The release ran (the token is no longer in flight) but did not land: the lock is still there.
    await lock?.release();
    await redis.set(k, token as string, 'PX', 10_000);
    const [taken] = await locks.acquireMany([k]);
    expect(taken).toBeDefined();
    expect(await redis.get(k)).not.toBe(token);
    await locks.releaseMany([taken as NonNullable<typeof taken>]);
    expect(await redis.exists(k)).toBe(0);
  });

  it('releases only a lock that still holds its own token (one taken over after expiry stays)', async () => {
    const locks = new IdempotencyLocks(redis, { ttlMs: 1000 });
    const k = key();
    const [lock] = await locks.acquireMany([k]);
    await redis.set(k, 'another-replica:later', 'PX', 10_000);
    await locks.releaseMany([lock as NonNullable<typeof lock>]);
    expect(await redis.get(k)).toBe('another-replica:later');
  });

  it('throws when Redis cannot be reached, and keeps nothing in flight (the retry after the outage is not refused)', async () => {
    const dead = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    try {
      await expect(new IdempotencyLocks(dead).acquireMany([key(), key()])).rejects.toThrow();
    } finally {
      dead.disconnect();
    }
  });
});

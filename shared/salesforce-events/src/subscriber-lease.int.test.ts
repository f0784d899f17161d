import { afterAll, describe, expect, it } from 'vitest';
import { testRedis, waitFor } from '../test-support/salesforce-events.ts';
import { type LeaseLostReason, SubscriberLease } from './subscriber-lease.ts';

describe('subscriber lease in Redis', () => {
  const { redis, prefix, cleanup } = testRedis();
  const leases: SubscriberLease[] = [];
  let n = 0;
  afterAll(async () => {
    await Promise.all(leases.map((lease) => lease.release().catch(() => false)));
    await cleanup();
  });

  function lease(key: string, options: { ttlMs?: number; renewEveryMs?: number; lost?: LeaseLostReason[] } = {}) {
    const created = new SubscriberLease({
      redis,
      key,
      ttlMs: options.ttlMs ?? 60_000,
      ...(options.renewEveryMs ? { renewEveryMs: options.renewEveryMs } : {}),
      onLost: (reason) => options.lost?.push(reason),
    });
    leases.push(created);
    return created;
  }
  const freshKey = () => {
    n += 1;
    return `${prefix}lease:${n}`;
  };

  it('is held by one holder at a time, with a unique token, until released', async () => {
    const key = freshKey();
    const a = lease(key);
    const b = lease(key);
    expect(a.token).not.toBe(b.token);
    expect(await a.acquire()).toBe(true);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await redis.get(key)).toBe(a.token);
    expect(await redis.pttl(key)).toBeGreaterThan(0);

    expect(await b.release()).toBe(false);
    expect(await redis.get(key)).toBe(a.token);
    expect(await a.release()).toBe(true);
    expect(a.held).toBe(false);
    expect(await b.acquire()).toBe(true);
    expect(await b.holder()).toBe(b.token);
  });

  it('renews only while the key still holds its token', async () => {
    const key = freshKey();
    const a = lease(key, { renewEveryMs: 3_600_000 });
    await a.acquire();
    await redis.pexpire(key, 5_000);
    expect(await a.renew()).toBe(true);
    expect(await redis.pttl(key)).toBeGreaterThan(5_000);
  });

  it('renews itself every ttl/3 while held', async () => {
    const key = freshKey();
    const a = lease(key, { ttlMs: 3_000 });
    await a.acquire();
    let previous = await redis.pttl(key);
    let renewed = false;
    await waitFor('the TTL to be pushed back by a renewal', async () => {
      const now = await redis.pttl(key);
      renewed = now > previous;
      previous = now;
      return renewed;
    });
    expect(await redis.get(key)).toBe(a.token);
  });

  it('reports the lease lost when another holder has it, and never deletes theirs', async () => {
    const key = freshKey();
    const lost: LeaseLostReason[] = [];
    const a = lease(key, { ttlMs: 1_500, lost });
    await a.acquire();
    await redis.set(key, 'someone-else', 'PX', 60_000);
    await waitFor('the lease to be reported lost', () => lost.length > 0);
    expect(lost).toEqual(['taken-over']);
    expect(a.held).toBe(false);
    expect(await a.release()).toBe(false);
    expect(await redis.get(key)).toBe('someone-else');
  });

  it('reports the lease lost when the key is gone', async () => {
    const key = freshKey();
    const lost: LeaseLostReason[] = [];
    const a = lease(key, { ttlMs: 1_500, lost });
    await a.acquire();
    await redis.del(key);
    await waitFor('the lease to be reported lost', () => lost.length > 0);
    expect(lost).toEqual(['expired']);
  });

  it('left abandoned (a dead holder), it expires and another holder takes it', async () => {
    const key = freshKey();
    const a = lease(key, { ttlMs: 500 });
    const b = lease(key, { ttlMs: 500 });
    await a.acquire();
    a.abandon();
    expect(a.held).toBe(false);
    await waitFor('the abandoned lease to be taken over', () => b.acquire());
    expect(await redis.get(key)).toBe(b.token);
  });
});

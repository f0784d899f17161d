import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisProcess } from './redis-process.ts';

const started: RedisProcess[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(started.splice(0).map((redis) => redis.close()));
});

async function own(options: { aof?: boolean } = {}): Promise<RedisProcess> {
  const redis = await RedisProcess.start(options);
  started.push(redis);
  return redis;
}

function client(redis: RedisProcess, options: { commandTimeout?: number } = {}): Redis {
  const c = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

describe('RedisProcess (a redis-server of the test’s own)', () => {
  it('listens on its own port, not the shared 6379', async () => {
    const redis = await own();
    expect(redis.port).not.toBe(6379);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await client(redis).ping()).toBe('PONG');
  });

  it('with AOF keeps every acknowledged write across a SIGKILL and restart', async () => {
    const redis = await own({ aof: true });
    await client(redis).set('kept', 'yes');
    await redis.kill();
    expect(redis.running).toBe(false);
    await redis.start();
    expect(await client(redis).get('kept')).toBe('yes');
  });

  it('restarted on fresh data (a failover to a replica that had not caught up) has lost the writes', async () => {
    const redis = await own({ aof: true });
    await client(redis).set('lost', 'yes');
    await redis.kill();
    await redis.start({ keepData: false });
    expect(await client(redis).get('lost')).toBeNull();
  });

  it('frozen, leaves commands hanging until they time out; killed while frozen, it goes away', async () => {
    const redis = await own();
    const c = client(redis, { commandTimeout: 300 });
    await c.ping();
    redis.freeze();
    await expect(c.ping()).rejects.toThrow(/timed out/i);
    await redis.kill();
    expect(redis.running).toBe(false);
  });

  it('reports each command it executes to a monitor, until stopped', async () => {
    const redis = await own();
    const seen: string[] = [];
    const stop = await redis.monitor((line) => seen.push(line));
    await client(redis).set('watched', '1');
    await expect.poll(() => seen.some((line) => /"set" "watched" "1"/i.test(line))).toBe(true);
    stop();
  });
});

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { abortableSleep } from './call-pacer.ts';

/**
 * Serialises the decisions that start a run of one schedule (a tick, an API start): each reads
 * the schedule's active runs and then records a new one, so two at once could both see none and
 * both start (or both wait). A short Redis lock per schedule, across replicas, makes the read and
 * the write one step. It expires by itself if its holder dies.
 */
export class ScheduleLock {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async with<T>(schedule: string, fn: () => Promise<T>, waitMs = 10_000): Promise<T> {
    const key = `${this.#prefix}batch:start-lock:${schedule}`;
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    while ((await this.#redis.set(key, token, 'PX', 15_000, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`Schedule ${schedule} is being started elsewhere; try again.`);
      await abortableSleep(25);
    }
    try {
      return await fn();
    } finally {
      // Release only our own lock (it may have expired and been taken meanwhile).
      await this.#redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
        1,
        key,
        token,
      );
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// Deletes or replaces the lock only while it still holds the expected token, so a request that
// outlived the lock's expiry never removes a lock another request has taken since.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const TAKE_OVER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) else return false end`;

export interface HeldLock {
  release(): Promise<void>;
}

/**
 * The lock that makes a second request with an Idempotency-Key, while the first is still being
 * accepted, a 409 (the IETF Idempotency-Key draft). Correctness does not rest on it (the record's id
 * derives from the key, and creating it is atomic); it only tells a hasty client to wait.
 *
 * A request that fails because Redis went away cannot release its lock, and the lock outlives the
 * outage (AOF keeps it). The docs tell the client to resend after a 503, and the resend must not
 * meet that orphan, so: each lock holds its holder's token (this process's id and a random part);
 * this process remembers which of its tokens are still in flight, and a lock carrying one of its
 * own tokens that is no longer in flight is an orphan, taken over at once. An orphan of another
 * replica is released by that replica, which retries the release every `releaseRetryMs` until the
 * lock would have expired anyway.
 */
export class IdempotencyLocks {
  readonly #redis: Redis;
  readonly #ttlMs: number;
  readonly #releaseRetryMs: number;
  readonly #process = randomUUID();
  readonly #inFlight = new Set<string>();

  constructor(redis: Redis, options: { ttlMs?: number; releaseRetryMs?: number } = {}) {
    this.#redis = redis;
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#releaseRetryMs = options.releaseRetryMs ?? 200;
  }

  /** The lock, or undefined while another live request holds it. Throws when Redis cannot be reached. */
  async acquire(key: string): Promise<HeldLock | undefined> {
    const token = `${this.#process}:${randomUUID()}`;
    this.#inFlight.add(token);
    try {
      let acquired = false;
      // A second round only when the lock vanished between SET and GET (its holder's release landed).
      for (let round = 0; round < 2 && !acquired; round++) {
        acquired = (await this.#redis.set(key, token, 'PX', this.#ttlMs, 'NX')) === 'OK';
        if (acquired) break;
        const holder = await this.#redis.get(key);
        if (holder === null) continue;
        if (holder.startsWith(`${this.#process}:`) && !this.#inFlight.has(holder)) {
          acquired = (await this.#redis.eval(TAKE_OVER, 1, key, holder, token, this.#ttlMs)) === 'OK';
        }
        break;
      }
      if (!acquired) {
        this.#inFlight.delete(token);
        return undefined;
      }
    } catch (err) {
      this.#inFlight.delete(token);
      throw err;
    }
    return this.#lock(key, token);
  }

  /**
   * `acquire` for many keys at once (a group of accepted requests): one pipelined SET NX for all
   * of them, so the common case (no lock held) costs one round trip instead of one per key. A key
   * whose SET failed goes through `acquire`'s own path (GET, orphan take-over, second round), so
   * the take-over rules are the same. One entry per key, in order; a key given twice gets the
   * lock once and undefined after. Throws when Redis cannot be reached (no lock is kept then).
   */
  async acquireMany(keys: readonly string[]): Promise<(HeldLock | undefined)[]> {
    const tokens = keys.map(() => `${this.#process}:${randomUUID()}`);
    for (const token of tokens) this.#inFlight.add(token);
    let replies: [Error | null, unknown][];
    try {
      const pipeline = this.#redis.pipeline();
      for (const [i, key] of keys.entries()) pipeline.set(key, tokens[i] as string, 'PX', this.#ttlMs, 'NX');
      replies = (await pipeline.exec()) ?? [];
    } catch (err) {
      for (const token of tokens) this.#inFlight.delete(token);
      throw err;
    }
    const held: (HeldLock | undefined)[] = [];
    const failures: unknown[] = [];
    for (const [i, key] of keys.entries()) {
      const token = tokens[i] as string;
      const [error, reply] = replies[i] ?? [new Error('no reply'), null];
      if (error) failures.push(error);
      if (!error && reply === 'OK') {
        held.push(this.#lock(key, token));
        continue;
      }
      this.#inFlight.delete(token);
      // A repeat of a key this group already holds must not take over its own group's lock.
      if (error || keys.indexOf(key) < i) {
        held.push(undefined);
        continue;
      }
      try {
        held.push(await this.acquire(key));
      } catch (err) {
        failures.push(err);
        held.push(undefined);
      }
    }
    if (failures.length > 0) {
      await this.releaseMany(held.filter((l): l is HeldLock => l !== undefined));
      throw failures[0];
    }
    return held;
  }

  /**
   * Releases locks this instance gave out, in one pipelined round trip; a lock whose release did
   * not land (Redis gone) is retried like `release` does.
   */
  async releaseMany(locks: readonly HeldLock[]): Promise<void> {
    const own = locks.filter((l): l is Lock => l instanceof Lock && l.owner === this);
    // No longer in flight from here on, whatever Redis says (as in #release).
    for (const lock of own) this.#inFlight.delete(lock.token);
    let replies: [Error | null, unknown][] | undefined;
    try {
      const pipeline = this.#redis.pipeline();
      for (const lock of own) pipeline.eval(RELEASE, 1, lock.key, lock.token);
      replies = (await pipeline.exec()) ?? undefined;
    } catch {
      replies = undefined;
    }
    await Promise.all(
      own.map((lock, i) => (replies?.[i] && !replies[i][0] ? undefined : this.#release(lock.key, lock.token))),
    );
    await Promise.all(locks.filter((l) => !own.includes(l as Lock)).map((l) => l.release()));
  }

  #lock(key: string, token: string): Lock {
    return new Lock(key, token, this, () => this.#release(key, token));
  }

  async #release(key: string, token: string): Promise<void> {
    // No longer in flight from here on, whatever Redis says: a retry in this process may take it over.
    this.#inFlight.delete(token);
    if (await this.#tryRelease(key, token)) return;
    const giveUpAt = Date.now() + this.#ttlMs;
    const retry = () => {
      if (Date.now() >= giveUpAt) return;
      setTimeout(async () => {
        if (!(await this.#tryRelease(key, token))) retry();
      }, this.#releaseRetryMs).unref();
    };
    retry();
  }

  async #tryRelease(key: string, token: string): Promise<boolean> {
    try {
      await this.#redis.eval(RELEASE, 1, key, token);
      return true;
    } catch {
      return false;
    }
  }
}

/** A lock this process holds: its key and token, so a group's locks can be released in one pipeline. */
class Lock implements HeldLock {
  readonly key: string;
  readonly token: string;
  readonly owner: IdempotencyLocks;
  readonly release: () => Promise<void>;

  constructor(key: string, token: string, owner: IdempotencyLocks, release: () => Promise<void>) {
    this.key = key;
    this.token = token;
    this.owner = owner;
    this.release = release;
  }
}

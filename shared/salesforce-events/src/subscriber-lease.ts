/**
 * A Redis lease that elects one subscriber per (org, channel) among the broker's replicas.
 *
 * - `acquire()`: `SET key token NX PX ttl`; the token is unique to this lease object.
 * - `renew()`: a Lua script that extends the TTL only while the key still holds our token.
 * - `release()`: a Lua compare-and-delete, so a lease taken over by another replica is never removed.
 * - While held, the lease renews itself every `renewEveryMs` (default ttl/3). When a renewal finds
 *   the key gone or held by another token, or no renewal has succeeded for a whole TTL (Redis
 *   unreachable), the lease counts as lost: renewing stops and `onLost` is called once.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

export interface SubscriberLeaseOptions {
  redis: Redis;
  /** The full Redis key (the caller adds its prefix). */
  key: string;
  /** Lease time to live. Default 15,000 ms. */
  ttlMs?: number;
  /** How often a held lease renews itself. Default a third of `ttlMs`. */
  renewEveryMs?: number;
  /** Called once when a held lease is lost (taken over, expired, or unrenewable for a whole TTL). */
  onLost?: (reason: LeaseLostReason) => void;
}

export type LeaseLostReason = 'taken-over' | 'expired' | 'unreachable';

export const DEFAULT_LEASE_TTL_MS = 15_000;

// KEYS[1] = lease key, ARGV[1] = token, ARGV[2] = ttl in ms. 1 = renewed, 0 = held by another, -1 = gone.
const RENEW_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif holder then
  return 0
end
return -1`;

// KEYS[1] = lease key, ARGV[1] = token. 1 = deleted, 0 = not ours (or gone).
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export class SubscriberLease {
  /** Identifies this holder: `<host>:<pid>:<uuid>`, so an operator can see who leads. */
  readonly token: string;
  readonly key: string;
  readonly ttlMs: number;
  readonly #redis: Redis;
  readonly #renewEveryMs: number;
  readonly #onLost: ((reason: LeaseLostReason) => void) | undefined;
  #held = false;
  #timer: NodeJS.Timeout | undefined;
  /** When the last successful acquire/renew was sent: the lease is ours until this + ttl. */
  #confirmedAt = 0;

  constructor(options: SubscriberLeaseOptions) {
    this.#redis = options.redis;
    this.key = options.key;
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.#onLost = options.onLost;
    this.token = `${hostname()}:${process.pid}:${randomUUID()}`;
  }

  /** Whether this object believes it holds the lease (it stops believing when a renewal fails). */
  get held(): boolean {
    return this.#held;
  }

  /** Tries to take the lease; true when taken (or already held by this object). Starts renewing. */
  async acquire(): Promise<boolean> {
    if (this.#held) return true;
    const sentAt = Date.now();
    const result = await this.#redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    if (result !== 'OK') return false;
    this.#held = true;
    this.#confirmedAt = sentAt;
    this.#scheduleRenewal();
    return true;
  }

  /**
   * Extends the lease; true while it is still ours. A renewal that finds it taken (`taken-over`) or
   * gone (`expired`: renewals came too late) marks the lease lost (and calls `onLost`). A Redis error is thrown; the lease is only declared lost on
   * errors once a whole TTL has passed without a successful renewal.
   */
  async renew(): Promise<boolean> {
    if (!this.#held) return false;
    const sentAt = Date.now();
    const renewed = await this.#redis.eval(RENEW_SCRIPT, 1, this.key, this.token, String(this.ttlMs));
    if (!this.#held) return false;
    if (renewed === 1) {
      this.#confirmedAt = sentAt;
      return true;
    }
    this.#lose(renewed === 0 ? 'taken-over' : 'expired');
    return false;
  }

  /** Stops renewing and deletes the key if it is still ours; true when it was deleted. */
  async release(): Promise<boolean> {
    this.#stopRenewing();
    const wasHeld = this.#held;
    this.#held = false;
    if (!wasHeld) return false;
    const deleted = await this.#redis.eval(RELEASE_SCRIPT, 1, this.key, this.token);
    return deleted === 1;
  }

  /**
   * Stops renewing without deleting the key: the lease runs out after its TTL. What a crashed
   * replica leaves behind; also a shutdown that wants a standby to wait out the TTL.
   */
  abandon(): void {
    this.#stopRenewing();
    this.#held = false;
  }

  /** Who holds the key now (any holder), or undefined. */
  async holder(): Promise<string | undefined> {
    return (await this.#redis.get(this.key)) ?? undefined;
  }

  #scheduleRenewal(): void {
    this.#stopRenewing();
    this.#timer = setTimeout(() => void this.#renewOnSchedule(), this.#renewEveryMs);
    this.#timer.unref();
  }

  async #renewOnSchedule(): Promise<void> {
    this.#timer = undefined;
    if (!this.#held) return;
    try {
      if (!(await this.renew())) return;
    } catch {
      if (Date.now() - this.#confirmedAt >= this.ttlMs) {
        this.#lose('unreachable');
        return;
      }
    }
    if (this.#held) this.#scheduleRenewal();
  }

  #lose(reason: LeaseLostReason): void {
    if (!this.#held) return;
    this.#held = false;
    this.#stopRenewing();
    this.#onLost?.(reason);
  }

  #stopRenewing(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

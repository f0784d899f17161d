/** How many failed Basic logins a window admits, per username, per client address and in total. */
export interface BasicLoginLimits {
  perUsername: number;
  perAddress: number;
  total: number;
  windowMs: number;
}

export const defaultBasicLoginLimits: BasicLoginLimits = {
  perUsername: 20,
  perAddress: 20,
  total: 100,
  windowMs: 60_000,
};

type Bucket = { start: number; failures: number; pending: number };

export type Admission =
  | { admitted: true; settle(outcome: 'success' | 'failure'): void }
  | { admitted: false; retryAfterSeconds: number };

/** What `check` found: the verified value, a wrong credential, or refused unchecked. */
export type LoginCheck<T> =
  | { outcome: 'verified'; value: T }
  | { outcome: 'rejected' }
  | { outcome: 'throttled'; retryAfterSeconds: number };

export interface LoginAttempt {
  username: string;
  address: string | undefined;
  /** Names the credential (a hash of the header and its realm, never the secret itself). */
  credential: string;
}

// Most keys an attacker can make us remember; past it the oldest windows are forgotten. The total
// bucket is never forgotten, so evicting per-key windows cannot lift the CPU bound.
const MAX_TRACKED_KEYS = 10_000;
// Credentials proven good this process: only successes enter, so guessing cannot grow it.
const MAX_KNOWN_GOOD = 1_000;

/**
 * Bounds the scrypt work failed Basic logins can cause: each password check first takes a slot in
 * its username's, its address's and the global window, counting checks still running, so neither a
 * burst of concurrent guesses nor guesses spread over many usernames runs more checks than the
 * limits allow. A refused attempt costs a few map look-ups, never a password check. In memory, per
 * replica: the bound is on this process's CPU, which is what the guesser would spend.
 *
 * `check` is how a login uses it, so that a good credential is not throttled: concurrent checks of
 * the same credential share one password check and one slot (a client sending 32 requests at once
 * with its right password is one login, not 32 attempts that fill the window), and a credential
 * that verified before in this process is checked again outside the limits, so guesses at its
 * username cannot lock it out. Only a credential never seen good competes with guesses for slots.
 */
export class BasicLoginThrottle {
  readonly #limits: BasicLoginLimits;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #total: Bucket = { start: 0, failures: 0, pending: 0 };

  readonly #inFlight = new Map<string, Promise<LoginCheck<unknown>>>();
  readonly #knownGood = new Set<string>();

  constructor(limits: Partial<BasicLoginLimits> = {}, now: () => number = Date.now) {
    this.#limits = { ...defaultBasicLoginLimits, ...limits };
    this.#now = now;
  }

  /**
   * Runs `verify` (the password check) for one login attempt unless the limits refuse it; its
   * value, or `undefined` for wrong credentials, decides success. A check of the same credential
   * already running is joined rather than repeated.
   */
  check<T>(attempt: LoginAttempt, verify: () => Promise<T | undefined>): Promise<LoginCheck<T>> {
    const running = this.#inFlight.get(attempt.credential);
    if (running) return running as Promise<LoginCheck<T>>;
    const checking = this.#run(attempt, verify).finally(() => this.#inFlight.delete(attempt.credential));
    this.#inFlight.set(attempt.credential, checking);
    return checking;
  }

  async #run<T>(attempt: LoginAttempt, verify: () => Promise<T | undefined>): Promise<LoginCheck<T>> {
    if (this.#knownGood.has(attempt.credential)) {
      const value = await verify();
      if (value !== undefined) return { outcome: 'verified', value };
      this.#knownGood.delete(attempt.credential);
      // No longer good (the configuration changed): from now on it is a guess like any other.
      return { outcome: 'rejected' };
    }
    const admission = this.admit(attempt.username, attempt.address);
    if (!admission.admitted) return { outcome: 'throttled', retryAfterSeconds: admission.retryAfterSeconds };
    let value: T | undefined;
    try {
      value = await verify();
    } finally {
      admission.settle(value !== undefined ? 'success' : 'failure');
    }
    if (value === undefined) return { outcome: 'rejected' };
    if (this.#knownGood.size >= MAX_KNOWN_GOOD) {
      const oldest = this.#knownGood.values().next().value;
      if (oldest !== undefined) this.#knownGood.delete(oldest);
    }
    this.#knownGood.add(attempt.credential);
    return { outcome: 'verified', value };
  }

  admit(username: string, address: string | undefined): Admission {
    const now = this.#now();
    const checks: Array<[Bucket, number]> = [
      [this.#bucket(`u\u0000${username.slice(0, 256)}`, now), this.#limits.perUsername],
      [this.#roll(this.#total, now), this.#limits.total],
    ];
    if (address) checks.push([this.#bucket(`a\u0000${address}`, now), this.#limits.perAddress]);
    let waitMs = 0;
    for (const [bucket, limit] of checks) {
      if (bucket.failures + bucket.pending >= limit)
        waitMs = Math.max(waitMs, bucket.start + this.#limits.windowMs - now);
    }
    if (waitMs > 0) return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    for (const [bucket] of checks) bucket.pending++;
    let settled = false;
    return {
      admitted: true,
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        for (const [bucket] of checks) {
          bucket.pending--;
          if (outcome === 'failure') bucket.failures++;
        }
      },
    };
  }

  #bucket(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= MAX_TRACKED_KEYS) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      bucket = { start: now, failures: 0, pending: 0 };
      this.#buckets.set(key, bucket);
    }
    return this.#roll(bucket, now);
  }

  #roll(bucket: Bucket, now: number): Bucket {
    if (now - bucket.start >= this.#limits.windowMs) {
      bucket.start = now;
      bucket.failures = 0;
    }
    return bucket;
  }
}

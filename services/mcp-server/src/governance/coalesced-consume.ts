import { type RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** What one spent point found: allowed or not, and the window's state as seen right after it. */
export interface PointOutcome {
  allowed: boolean;
  /** Points left in the window after this one (0 once refused). */
  remainingPoints: number;
  msBeforeNext: number;
}

interface Waiter {
  resolve: (outcome: PointOutcome) => void;
  reject: (err: unknown) => void;
}

interface KeyState {
  /** Points asked for while a consume for the key was in flight: they go together in the next one. */
  waiting: Waiter[];
  inFlight: boolean;
}

/**
 * Spends one point per call against a Redis counter, sending the points asked for while a
 * consume of the same key is in flight as one `consume(key, n)` when it returns (a group commit).
 *
 * The counter is the same fixed-window INCRBY either way, so the outcome of each point is what
 * it would have been one at a time: with `c` the count after the group, the group's i-th point
 * (1-based) saw `c - n + i` and is allowed when that is within the limit. A lone request is sent
 * at once (no added wait); under load, a busy identity's requests share one round trip, which is
 * a Redis request per call less on the governed server's path (issue 14).
 */
export class CoalescedConsumer {
  readonly #limiter: RateLimiterRedis;
  readonly #points: number;
  readonly #keys = new Map<string, KeyState>();

  constructor(limiter: RateLimiterRedis, points: number) {
    this.#limiter = limiter;
    this.#points = points;
  }

  /** One point of `key`; rejects only when the store cannot be reached. */
  consume(key: string): Promise<PointOutcome> {
    return new Promise((resolve, reject) => {
      let state = this.#keys.get(key);
      if (!state) {
        state = { waiting: [], inFlight: false };
        this.#keys.set(key, state);
      }
      state.waiting.push({ resolve, reject });
      if (!state.inFlight) this.#send(key, state);
    });
  }

  #send(key: string, state: KeyState): void {
    const group = state.waiting;
    state.waiting = [];
    state.inFlight = true;
    const settle = (res: RateLimiterRes) => {
      const before = res.consumedPoints - group.length;
      group.forEach((waiter, i) => {
        const count = before + i + 1;
        waiter.resolve({
          allowed: count <= this.#points,
          remainingPoints: Math.max(this.#points - count, 0),
          msBeforeNext: res.msBeforeNext,
        });
      });
    };
    this.#limiter
      .consume(key, group.length)
      .then(settle, (err: unknown) => {
        // Over the limit: the counter still counted the group, as it counts a refused point alone.
        if (err instanceof RateLimiterRes) settle(err);
        else for (const waiter of group) waiter.reject(err);
      })
      .finally(() => {
        state.inFlight = false;
        if (state.waiting.length > 0) this.#send(key, state);
        else this.#keys.delete(key);
      });
  }
}

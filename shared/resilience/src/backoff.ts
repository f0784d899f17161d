export interface BackoffOptions {
  /** First delay in ms; doubles each attempt. */
  baseDelayMs: number;
  /** Largest delay in ms. */
  maxDelayMs: number;
  /**
   * `full` (default): anywhere from 0 to the exponential delay, which spreads many failed jobs
   * furthest apart. `equal`: between half and all of it, for one reconnecting client that must not
   * hammer a peer yet should not retry at once either.
   */
  jitter?: 'full' | 'equal';
  /** Injectable for tests. Default `Math.random`. */
  random?: () => number;
}

// 2^30 × any sensible base is past any sensible cap; a larger exponent only risks Infinity × 0.
const MAX_EXPONENT = 30;

/** The delay before retry number `attempt` (1 for the first retry): base × 2^(attempt−1), capped, jittered. */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const exponent = Math.min(MAX_EXPONENT, Math.max(0, attempt - 1));
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
  const random = (options.random ?? Math.random)();
  if (options.jitter === 'equal') return Math.round(ceiling / 2 + (random * ceiling) / 2);
  return Math.max(1, Math.round(ceiling * random));
}

/** The same formula for a loop that counts its own failures: `next()` after each, `reset()` on success. */
export class Backoff {
  readonly #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  next(): number {
    this.#attempt = Math.min(this.#attempt + 1, MAX_EXPONENT + 1);
    return backoffDelay(this.#attempt, this.#options);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

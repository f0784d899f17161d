/**
 * Faults a test can inject, each answered the way a workspace answers it:
 *
 * | fault | what the client sees |
 * |---|---|
 * | `rateLimit()` | 429 `REQUEST_LIMIT_EXCEEDED` with `Retry-After` (seconds) |
 * | `serverError()` | 503 `TEMPORARILY_UNAVAILABLE` (or 500 `INTERNAL_ERROR` with `status: 500`) |
 * | `slow()` | the answer is held back `delayMs` before it is given |
 * | `expireTokens()` | every issued OAuth token is refused from now on (403 `Invalid access token.`) |
 * | `failStatements()` | the next SQL statements end `FAILED` with the given error |
 *
 * Counted faults fire on the next `count` matching requests (default 1; `Infinity` until `clear()`);
 * `path` limits one to requests whose path contains it (e.g. `runs/get-output`, `/oidc/v1/token`).
 */

export interface CountedFault {
  /** How many matching requests the fault hits. Default 1; `Infinity` until `clear()`. */
  count?: number;
  /** Only requests whose path contains this; default every API request. */
  path?: string;
}

export interface RateLimitFault extends CountedFault {
  /** The `Retry-After` header, in seconds. Default 1. */
  retryAfterSeconds?: number;
}

export interface ServerErrorFault extends CountedFault {
  /** 500 or 503 (default). */
  status?: 500 | 503;
}

export interface SlowFault extends CountedFault {
  delayMs: number;
}

export interface StatementFailure {
  count?: number;
  /** `status.error.error_code`. Default `BAD_REQUEST`. */
  errorCode?: string;
  /** `status.error.message`. Default a `[DELTA_CONCURRENT_APPEND]` conflict. */
  message?: string;
}

export interface DatabricksFaults {
  rateLimit(fault?: RateLimitFault): void;
  serverError(fault?: ServerErrorFault): void;
  slow(fault: SlowFault): void;
  expireTokens(): void;
  failStatements(fault?: StatementFailure): void;
  /** Removes every pending counted fault. */
  clear(): void;
}

interface Pending<T> {
  remaining: number;
  path: string | undefined;
  fault: T;
}

function take<T>(pending: Pending<T>[], path: string): T | undefined {
  const hit = pending.find((p) => p.remaining > 0 && (p.path === undefined || path.includes(p.path)));
  if (!hit) return undefined;
  hit.remaining -= 1;
  return hit.fault;
}

const pending = <T extends { count?: number; path?: string }>(fault: T): Pending<T> => ({
  remaining: fault.count ?? 1,
  path: fault.path,
  fault,
});

/** Holds the counted faults; the routes ask it before answering. */
export class FaultInjector {
  readonly #rateLimits: Pending<RateLimitFault>[] = [];
  readonly #serverErrors: Pending<ServerErrorFault>[] = [];
  readonly #slow: Pending<SlowFault>[] = [];
  readonly #statements: Pending<StatementFailure>[] = [];

  rateLimit(fault: RateLimitFault = {}): void {
    this.#rateLimits.push(pending(fault));
  }
  serverError(fault: ServerErrorFault = {}): void {
    this.#serverErrors.push(pending(fault));
  }
  slow(fault: SlowFault): void {
    this.#slow.push(pending(fault));
  }
  failStatements(fault: StatementFailure = {}): void {
    this.#statements.push(pending(fault));
  }

  takeRateLimit = (path: string) => take(this.#rateLimits, path);
  takeServerError = (path: string) => take(this.#serverErrors, path);
  takeSlow = (path: string) => take(this.#slow, path);
  takeStatementFailure = () => take(this.#statements, '');

  clear(): void {
    for (const list of [this.#rateLimits, this.#serverErrors, this.#slow, this.#statements]) list.length = 0;
  }
}

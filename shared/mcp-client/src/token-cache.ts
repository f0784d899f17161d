import { raceAbort } from '@mcp-broker/resilience';
import { McpCallError } from './mcp-call-error.ts';
import type { GetTokenOptions, TokenProvider } from './token-provider.ts';

/** A token and when it stops being valid. */
export interface IssuedToken {
  token: string;
  /** Epoch ms after which the token is no longer accepted. */
  expiresAtMs: number;
}

/** Obtains a fresh token from wherever tokens come from; the cache decides when to call it. */
export type TokenSource = () => Promise<IssuedToken>;

export interface TokenCacheOptions {
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Refresh a token once it is this close to expiry, in ms. Default 300,000 (5 min). */
  refreshBeforeMs?: number;
}

/**
 * Caches one provider's token: a cached token is returned until it is within `refreshBeforeMs` of
 * expiry, then the next `getToken` fetches a new one. At most one fetch is in flight: concurrent
 * callers share its promise. When a refresh fails while the cached token is still valid, the cached
 * token is returned (the next call tries again). `forceRefresh` (after a 401) always fetches, unless a
 * fetch is already in flight, which it joins.
 *
 * A caller's `signal` abandons only that caller's wait: the shared fetch continues for the others.
 */
export class TokenCache implements TokenProvider {
  readonly #source: TokenSource;
  readonly #now: () => number;
  readonly #refreshBeforeMs: number;
  #current: IssuedToken | undefined;
  #inFlight: Promise<IssuedToken> | undefined;

  constructor(source: TokenSource, options: TokenCacheOptions = {}) {
    this.#source = source;
    this.#now = options.now ?? Date.now;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  }

  async getToken(options: GetTokenOptions = {}): Promise<string> {
    options.signal?.throwIfAborted();
    const current = this.#current;
    const now = this.#now();
    if (!options.forceRefresh && current && now < current.expiresAtMs - this.#refreshBeforeMs) return current.token;
    try {
      return (await raceAbort(this.#refresh(), { signal: options.signal, onAbort: cancelledWait })).token;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      // A refresh that fails inside the early-refresh window still leaves a usable token.
      const fallback = this.#current;
      if (!options.forceRefresh && fallback && this.#now() < fallback.expiresAtMs) return fallback.token;
      throw err;
    }
  }

  /** Forgets the cached token (the next call fetches). */
  clear(): void {
    this.#current = undefined;
  }

  #refresh(): Promise<IssuedToken> {
    if (!this.#inFlight) {
      this.#inFlight = this.#source()
        .then((issued) => {
          this.#current = issued;
          return issued;
        })
        .finally(() => {
          this.#inFlight = undefined;
        });
      // Waiters that abandon the shared fetch must not leave its rejection unhandled.
      this.#inFlight.catch(() => {});
    }
    return this.#inFlight;
  }
}

function cancelledWait(): McpCallError {
  return new McpCallError('cancelled', 'CANCELLED', 'Waiting for an upstream token was cancelled.');
}

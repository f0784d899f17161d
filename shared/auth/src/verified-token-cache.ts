import { hash } from 'node:crypto';
import type { Identity } from '@mcp-broker/contracts';

export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered; the least recently used is dropped beyond it. 0 turns the cache off. */
  maxEntries: number;
  /** Longest a token is remembered, in seconds, however late its `exp`. */
  maxAgeSeconds: number;
}

interface Entry {
  identity: Identity;
  /** Epoch ms after which the token must be verified again. */
  until: number;
}

/**
 * Tokens that passed every check, keyed by the SHA-256 of the exact token text, so a caller that
 * sends the same token for an hour (a worker) pays for the signature check once, not per request.
 * A different token, even one byte different (a tampered one), hashes differently and gets every
 * check. An entry lives until the token's `exp` (without clock tolerance; past it, the full check
 * decides) and at most `maxAgeSeconds`. Like the verifier itself this is revocation-free: a JWT
 * stays valid until `exp`; the age bound only limits how long a key the issuer withdrew from its
 * JWKS keeps its already verified tokens. The hash, not the token, is the key, so the cache holds no
 * credential.
 */
export class VerifiedTokenCache {
  readonly #options: VerifiedTokenCacheOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: VerifiedTokenCacheOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(token: string, now = Date.now()): Identity | undefined {
    if (this.#options.maxEntries <= 0) return undefined;
    const key = keyOf(token);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (now >= entry.until) return undefined;
    // Re-inserted, so Map order is least recently used first.
    this.#entries.set(key, entry);
    return entry.identity;
  }

  /** Remembers a token that passed every check; `exp` in epoch seconds, as in the token. */
  set(token: string, identity: Identity, exp: number, now = Date.now()): void {
    if (this.#options.maxEntries <= 0) return;
    const until = Math.min(exp * 1000, now + this.#options.maxAgeSeconds * 1000);
    if (!(until > now)) return;
    const key = keyOf(token);
    this.#entries.delete(key);
    while (this.#entries.size >= this.#options.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    // Callers share the cached object; frozen, so none can change what the next request sees.
    this.#entries.set(key, { identity: deepFreeze(identity), until });
  }
}

// Every request's token is hashed here: the one-shot `hash()` is the same SHA-256 without a Hash
// object per call (about a quarter less CPU for a token-sized input).
function keyOf(token: string): string {
  return hash('sha256', token, 'base64url');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

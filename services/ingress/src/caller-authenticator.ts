import { createHash } from 'node:crypto';
import { createTokenVerifier, type TokenVerifier } from '@mcp-broker/auth';
import { type CallerConfig, verifyPassword } from '@mcp-broker/broker-config';
import { BrokerError, type Identity } from '@mcp-broker/contracts';
import { decodeJwt } from 'jose';
import { type BasicLoginLimits, BasicLoginThrottle } from './basic-login-throttle.ts';

/**
 * Finds which configured caller a request comes from: a JWT from the caller's issuer whose subject
 * or client app is listed for it, or HTTP Basic with the caller's username and password.
 */
export class CallerAuthenticator {
  readonly #jwtCallers: Array<{ caller: CallerConfig; verifier: TokenVerifier }> = [];
  readonly #basic = new Map<string, CallerConfig>();
  // scrypt is deliberately slow (tens of ms of CPU); a caller sending the same Basic credentials on
  // every request would otherwise pay it every time. Only successful checks are remembered, keyed by
  // a hash of the header (never the password), for a short time, in a bounded LRU.
  readonly #verifiedBasic: VerifiedCredentials;
  readonly #throttle: BasicLoginThrottle;
  readonly #verifyPassword: typeof verifyPassword;

  constructor(callers: readonly CallerConfig[], options: CallerAuthenticatorOptions = {}) {
    this.#verifiedBasic = new VerifiedCredentials(
      options.basicCacheMs ?? 5 * 60_000,
      options.basicCacheEntries ?? 1000,
    );
    this.#throttle = new BasicLoginThrottle(options.basicLoginLimits);
    this.#verifyPassword = options.verifyPassword ?? verifyPassword;
    const verifiers = new Map<string, TokenVerifier>();
    for (const caller of callers) {
      if (caller.auth.type === 'basic') {
        this.#basic.set(caller.auth.username, caller);
        continue;
      }
      const key = `${caller.auth.issuer}\u0000${caller.auth.audience}`;
      let verifier = verifiers.get(key);
      if (!verifier) {
        verifier = createTokenVerifier({
          issuers: [{ issuer: caller.auth.issuer }],
          audience: caller.auth.audience,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
        verifiers.set(key, verifier);
      }
      this.#jwtCallers.push({ caller, verifier });
    }
  }

  /** `clientAddress` is where the request came from, for throttling failed Basic logins per address. */
  async authenticate(
    authorization: string | undefined,
    context: { clientAddress?: string } = {},
  ): Promise<CallerConfig> {
    if (!authorization) {
      throw new BrokerError('BROKER_TOKEN_MISSING', 'Send Authorization: Bearer <token> (or Basic for Basic callers).');
    }
    if (/^basic /i.test(authorization)) return this.#basicCaller(authorization, context.clientAddress);
    let iss: string | undefined;
    try {
      iss = decodeJwt(authorization.replace(/^bearer\s+/i, '')).iss;
    } catch {
      // The verifier below explains a malformed token precisely.
    }
    const candidates = this.#jwtCallers.filter(
      (c) => c.caller.auth.type === 'jwt' && (iss === undefined || c.caller.auth.issuer === iss),
    );
    if (candidates.length === 0) {
      throw new BrokerError('BROKER_TOKEN_INVALID', `Token issuer "${iss ?? '?'}" is not configured for any caller.`, {
        details: { reason: 'unknown_issuer' },
      });
    }
    // Callers sharing an issuer and audience share a verifier: each distinct verifier runs once.
    const outcomes = new Map<TokenVerifier, Promise<Identity | Error>>();
    let firstError: Error | undefined;
    let verified: Identity | undefined;
    for (const { caller, verifier } of candidates) {
      let outcome = outcomes.get(verifier);
      if (!outcome) {
        outcome = verifier.verify(authorization).catch((err: Error) => err);
        outcomes.set(verifier, outcome);
      }
      const identity = await outcome;
      if (identity instanceof Error) {
        firstError ??= identity;
        continue;
      }
      verified = identity;
      const subjects = caller.auth.type === 'jwt' ? caller.auth.subjects : [];
      if (subjects.includes(identity.subject) || (identity.clientAppId && subjects.includes(identity.clientAppId))) {
        return caller;
      }
    }
    if (!verified) throw firstError ?? new BrokerError('BROKER_TOKEN_INVALID', 'Token could not be verified.');
    throw new BrokerError(
      'BROKER_TOKEN_INVALID',
      `The token is valid but its subject "${verified.subject}" is not a configured caller.`,
      { details: { reason: 'unknown_caller' } },
    );
  }

  async #basicCaller(authorization: string, clientAddress: string | undefined): Promise<CallerConfig> {
    const cacheKey = createHash('sha256').update(authorization).digest('base64url');
    const cached = this.#verifiedBasic.get(cacheKey);
    if (cached) return cached;
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const username = colon >= 0 ? decoded.slice(0, colon) : '';
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    // Concurrent requests with the same header share one check; one verified before is never throttled.
    const result = await this.#throttle.check({ username, address: clientAddress, credential: cacheKey }, () =>
      this.#check(username, password),
    );
    if (result.outcome === 'throttled') {
      throw new BrokerError(
        'BROKER_AUTH_THROTTLED',
        `Too many failed logins; retry in ${result.retryAfterSeconds} s.`,
        {
          headers: { 'retry-after': String(result.retryAfterSeconds) },
          details: { reason: 'too_many_failures' },
        },
      );
    }
    if (result.outcome === 'rejected') {
      throw new BrokerError('BROKER_CREDENTIALS_INVALID', 'Unknown username or wrong password.', {
        details: { reason: 'bad_credentials' },
      });
    }
    const caller = result.value;
    this.#verifiedBasic.set(cacheKey, caller);
    return caller;
  }

  async #check(username: string, password: string): Promise<CallerConfig | undefined> {
    const caller = this.#basic.get(username);
    // Verify against a fixed dummy hash for unknown users too, so timing does not reveal usernames.
    const hash =
      caller?.auth.type === 'basic'
        ? caller.auth.passwordHash
        : 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    const ok = await this.#verifyPassword(password, hash);
    return caller && ok ? caller : undefined;
  }
}

export interface CallerAuthenticatorOptions {
  fetch?: typeof fetch;
  /** How long a successful Basic check is remembered, in ms; default 5 minutes, 0 to disable. */
  basicCacheMs?: number;
  /** Most remembered Basic checks (least recently used forgotten first); default 1000. */
  basicCacheEntries?: number;
  /** Failed Basic logins admitted per window before attempts are refused unchecked (429). */
  basicLoginLimits?: Partial<BasicLoginLimits>;
  /** The password check (scrypt); replaceable so a test can count how often it runs. */
  verifyPassword?: typeof verifyPassword;
}

/** Successful Basic checks by header hash: bounded, least recently used evicted, each for `ttlMs`. */
class VerifiedCredentials {
  readonly #entries = new Map<string, { caller: CallerConfig; until: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(ttlMs: number, max: number) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  get(key: string): CallerConfig | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.until <= Date.now()) return undefined;
    this.#entries.set(key, entry);
    return entry.caller;
  }

  set(key: string, caller: CallerConfig): void {
    if (this.#ttlMs <= 0) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { caller, until: Date.now() + this.#ttlMs });
  }
}

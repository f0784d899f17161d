import { createHash } from 'node:crypto';
import { createTokenVerifier, type TokenVerifier } from '@mcp-broker/auth';
import { type CallerConfig, verifyPassword } from '@mcp-broker/broker-config';
import { BrokerError, type Identity } from '@mcp-broker/contracts';
import { decodeJwt } from 'jose';

/**
 * Finds which configured caller a request comes from: a JWT from the caller's issuer whose subject
 * or client app is listed for it, or HTTP Basic with the caller's username and password.
 */
export class CallerAuthenticator {
  readonly #jwtCallers: Array<{ caller: CallerConfig; verifier: TokenVerifier }> = [];
  readonly #basic = new Map<string, CallerConfig>();
  // scrypt is deliberately slow (tens of ms of CPU); a caller sending the same Basic credentials on
  // every request would otherwise pay it every time. Only successful checks are cached, keyed by a
  // hash of the header (never the password), for a short time.
  readonly #verifiedBasic = new Map<string, { caller: CallerConfig; until: number }>();
  readonly #basicCacheMs: number;

  constructor(
    callers: readonly CallerConfig[],
    options: {
      fetch?: typeof fetch;
      /** How long a successful Basic check is remembered, in ms; default 5 minutes, 0 to disable. */
      basicCacheMs?: number;
    } = {},
  ) {
    this.#basicCacheMs = options.basicCacheMs ?? 5 * 60_000;
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

  async authenticate(authorization: string | undefined): Promise<CallerConfig> {
    if (!authorization) {
      throw new BrokerError('BROKER_TOKEN_MISSING', 'Send Authorization: Bearer <token> (or Basic for Basic callers).');
    }
    if (/^basic /i.test(authorization)) return this.#basicCaller(authorization);
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

  async #basicCaller(authorization: string): Promise<CallerConfig> {
    const cacheKey = createHash('sha256').update(authorization).digest('base64url');
    const cached = this.#verifiedBasic.get(cacheKey);
    if (cached && cached.until > Date.now()) return cached.caller;
    const caller = await this.#checkBasic(authorization);
    if (this.#basicCacheMs > 0) {
      if (this.#verifiedBasic.size >= 10_000) this.#verifiedBasic.clear();
      this.#verifiedBasic.set(cacheKey, { caller, until: Date.now() + this.#basicCacheMs });
    }
    return caller;
  }

  async #checkBasic(authorization: string): Promise<CallerConfig> {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const username = colon >= 0 ? decoded.slice(0, colon) : '';
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    const caller = this.#basic.get(username);
    // Verify against a fixed dummy hash for unknown users too, so timing does not reveal usernames.
    const hash =
      caller?.auth.type === 'basic'
        ? caller.auth.passwordHash
        : 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    const ok = await verifyPassword(password, hash);
    if (!caller || !ok) {
      throw new BrokerError('BROKER_TOKEN_INVALID', 'Unknown username or wrong password.', {
        details: { reason: 'bad_credentials' },
      });
    }
    return caller;
  }
}

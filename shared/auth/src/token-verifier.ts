import { BrokerError, type Identity } from '@mcp-broker/contracts';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import { bearerChallenge } from './bearer-challenge.ts';
import { identityFromClaims } from './identity-from-claims.ts';
import type { IssuerConfig } from './issuer-config.ts';
import { createTrustedIssuer, type TrustedIssuer } from './trusted-issuer.ts';
import { VerifiedTokenCache } from './verified-token-cache.ts';

export interface TokenVerifierOptions {
  /** Issuers whose tokens are accepted; a token is matched to one by its exact `iss`. */
  issuers: readonly IssuerConfig[];
  /** This server's resource identifier (e.g. `api://mcp-broker`), required in `aud` unless an issuer overrides it. */
  audience: string;
  /** Accepted JWS algorithms; default RS256/384/512, PS256/384/512, ES256/384. HS* and `none` are refused. */
  algorithms?: readonly string[];
  /** Allowed clock skew for `exp`/`nbf`/`iat`, in seconds; default 60, and never more than 60. */
  clockToleranceSeconds?: number;
  /** Minimum interval between JWKS refetches caused by an unknown `kid`, in ms; default 30000. */
  jwksCooldownMs?: number;
  /** Timeout for each discovery and JWKS request, in ms; default 5000. */
  httpTimeoutMs?: number;
  /** RFC 9728 metadata URL; when set, rejections carry a matching `WWW-Authenticate` header. */
  resourceMetadataUrl?: string;
  /** Fetch used for discovery and JWKS requests; default the global fetch. */
  fetch?: typeof fetch;
  /**
   * Tokens that passed every check are remembered by their SHA-256 until `exp` (at most
   * `maxAgeSeconds`, default 300), so a token sent again skips the signature check; a new or altered
   * token gets every check. At most `maxEntries` (default 10000; 0 turns the cache off).
   */
  cache?: { maxEntries?: number; maxAgeSeconds?: number };
}

/** Checks `Authorization` header values and returns who the caller is. */
export interface TokenVerifier {
  /**
   * Resolves with the caller's Identity, or rejects with BrokerError BROKER_TOKEN_MISSING,
   * BROKER_TOKEN_INVALID, or BROKER_NOT_READY when an issuer's discovery or JWKS cannot be fetched.
   */
  verify(authorization: string | undefined): Promise<Identity>;
}

/** Why a token was refused; carried as `details.reason` on the BrokerError. */
export type TokenRejectionReason =
  | 'missing'
  | 'not_bearer'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'unsupported_crit'
  | 'wrong_audience'
  | 'unknown_issuer'
  | 'alg_not_allowed'
  | 'bad_signature'
  | 'unknown_kid'
  | 'no_subject'
  | 'invalid_claims';

export const defaultAlgorithms: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
];

const maxClockToleranceSeconds = 60;

/** Claim values echoed in messages come from an unverified token, so they are bounded and made printable. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const printable = (text ?? String(value)).replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 120 ? `${printable.slice(0, 117)}...` : printable;
}

function isoTime(epochSeconds: unknown): string {
  return typeof epochSeconds === 'number' && Number.isFinite(epochSeconds)
    ? new Date(epochSeconds * 1000).toISOString()
    : shown(epochSeconds);
}

function checkedAlgorithms(algorithms: readonly string[]): string[] {
  for (const alg of algorithms) {
    // A symmetric alg would let anyone holding the issuer's public key (which is public) mint tokens.
    if (/^HS/i.test(alg) || alg.toLowerCase() === 'none') {
      throw new TypeError(`algorithm "${alg}" must never be accepted for access tokens`);
    }
  }
  return [...algorithms];
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (options.issuers.length === 0) throw new TypeError('at least one issuer must be configured');
  const algorithms = checkedAlgorithms(options.algorithms ?? defaultAlgorithms);
  const requestedTolerance = options.clockToleranceSeconds ?? maxClockToleranceSeconds;
  if (!Number.isFinite(requestedTolerance)) throw new TypeError('clockToleranceSeconds must be a finite number');
  const clockTolerance = Math.min(Math.max(requestedTolerance, 0), maxClockToleranceSeconds);
  const issuers = new Map<string, TrustedIssuer>();
  for (const config of options.issuers) {
    if (issuers.has(config.issuer)) throw new TypeError(`issuer "${config.issuer}" is configured twice`);
    issuers.set(
      config.issuer,
      createTrustedIssuer(config, {
        audience: options.audience,
        jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
        timeoutMs: options.httpTimeoutMs ?? 5_000,
        fetch: options.fetch ?? globalThis.fetch,
      }),
    );
  }

  const cache = new VerifiedTokenCache({
    maxEntries: Math.max(0, Math.floor(options.cache?.maxEntries ?? 10_000)),
    maxAgeSeconds: Math.max(0, options.cache?.maxAgeSeconds ?? 300),
  });

  function reject(reason: TokenRejectionReason, message: string): BrokerError {
    const missing = reason === 'missing' || reason === 'not_bearer';
    const headers =
      options.resourceMetadataUrl === undefined
        ? undefined
        : {
            'WWW-Authenticate': bearerChallenge({
              resourceMetadataUrl: options.resourceMetadataUrl,
              // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
              ...(missing ? {} : { error: 'invalid_token' as const, errorDescription: message }),
            }),
          };
    return new BrokerError(missing ? 'BROKER_TOKEN_MISSING' : 'BROKER_TOKEN_INVALID', message, {
      details: { reason },
      ...(headers === undefined ? {} : { headers }),
    });
  }

  function bearerToken(authorization: string | undefined): string {
    if (authorization === undefined || authorization.trim() === '') {
      throw reject('missing', 'no Authorization header; send "Authorization: Bearer <access token>"');
    }
    const match = /^(\S+)(?:\s+(.*))?$/.exec(authorization.trim());
    const scheme = match?.[1] ?? '';
    if (scheme.toLowerCase() !== 'bearer') {
      throw reject('not_bearer', `Authorization scheme "${shown(scheme)}" is not Bearer`);
    }
    const token = match?.[2]?.trim() ?? '';
    if (token === '') throw reject('missing', 'the Authorization header names the Bearer scheme but carries no token');
    return token;
  }

  function decode(token: string): { header: ProtectedHeaderParameters; claims: JWTPayload } {
    const segments = token.split('.').length;
    if (segments === 5) throw reject('malformed', 'encrypted (JWE) tokens are not accepted; send a signed JWT');
    try {
      return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
    } catch {
      throw reject(
        'malformed',
        'token is not a well-formed JWT (expected three base64url segments holding a JSON header and claims)',
      );
    }
  }

  async function verifySignatureAndClaims(token: string, trusted: TrustedIssuer): Promise<JWTVerifyResult> {
    const verifyOptions: JWTVerifyOptions = {
      issuer: trusted.issuer,
      audience: trusted.audience,
      algorithms,
      clockTolerance,
      requiredClaims: ['exp'],
    };
    try {
      return await jwtVerify(token, trusted.getKey, verifyOptions);
    } catch (error) {
      // jose leaves a kid-less token matching several keys to the caller: try each candidate key.
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      for await (const key of error) {
        try {
          return await jwtVerify(token, key, verifyOptions);
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }

  function rejectionFor(
    error: unknown,
    header: ProtectedHeaderParameters,
    claims: JWTPayload,
    audience: string,
  ): BrokerError {
    if (error instanceof BrokerError) return error;
    if (error instanceof errors.JWTExpired) {
      return reject('expired', `token expired at ${isoTime(claims.exp)}`);
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.reason === 'missing') return reject('invalid_claims', `token has no "${error.claim}" claim`);
      if (error.reason === 'check_failed' && error.claim === 'nbf') {
        return reject('not_yet_valid', `token is not yet valid: it becomes valid at ${isoTime(claims.nbf)}`);
      }
      if (error.reason === 'check_failed' && error.claim === 'aud') {
        return reject(
          'wrong_audience',
          `audience ${shown(JSON.stringify(claims.aud))} is not this server's resource "${audience}"`,
        );
      }
      // jose's claim messages name the claim and the rule, never the token or its values.
      return reject('invalid_claims', `token claim check failed: ${error.message}`);
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return reject('bad_signature', 'signature verification failed');
    }
    if (error instanceof errors.JWKSNoMatchingKey) {
      return header.kid === undefined
        ? reject('unknown_kid', "token has no kid and no key in the issuer's JWKS matches its algorithm")
        : reject('unknown_kid', `no key "${shown(header.kid)}" in the issuer's JWKS`);
    }
    if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
      return reject('alg_not_allowed', `algorithm "${shown(header.alg)}" is not supported for this issuer's keys`);
    }
    if (error instanceof errors.JOSEError) {
      return reject('malformed', `token could not be verified (${error.code})`);
    }
    return new BrokerError('BROKER_INTERNAL', 'token verification failed unexpectedly', { cause: error });
  }

  async function verify(authorization: string | undefined): Promise<Identity> {
    const token = bearerToken(authorization);
    const cached = cache.get(token);
    if (cached !== undefined) return cached;
    const { header, claims } = decode(token);
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
      throw reject(
        'alg_not_allowed',
        `algorithm "${shown(header.alg)}" is not allowed (allowed: ${algorithms.join(', ')})`,
      );
    }
    // RFC 7515 §4.1.11: a recipient must refuse critical extensions it does not understand; this
    // verifier understands none, so any `crit` (even an empty one, which the RFC forbids) is refused.
    if (header.crit !== undefined) {
      const names = Array.isArray(header.crit) ? header.crit.map((name) => shown(name)).join(', ') : shown(header.crit);
      throw reject(
        'unsupported_crit',
        names === ''
          ? 'token header has an empty "crit" list, which RFC 7515 forbids'
          : `token header marks extension parameters as critical that this server does not support: ${names}`,
      );
    }
    if (typeof claims.iss !== 'string') throw reject('malformed', 'token has no "iss" claim');
    const trusted = issuers.get(claims.iss);
    if (trusted === undefined) {
      throw reject(
        'unknown_issuer',
        `issuer "${shown(claims.iss)}" is not configured (accepted: ${[...issuers.keys()].join(', ')})`,
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await verifySignatureAndClaims(token, trusted));
    } catch (error) {
      throw rejectionFor(error, header, claims, trusted.audience);
    }
    // jose checks `iat` only against a maximum age; a token minted in the future would stay valid
    // long after its issuer meant, so refuse it beyond the same skew `nbf` gets.
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000) + clockTolerance) {
      throw reject('issued_in_future', `token was issued at ${isoTime(payload.iat)}, which is in the future`);
    }
    let identity: Identity;
    try {
      identity = identityFromClaims(payload, trusted.issuer);
    } catch (error) {
      throw error instanceof BrokerError && error.code === 'BROKER_TOKEN_INVALID'
        ? reject('no_subject', error.message)
        : error;
    }
    // requiredClaims made jose check that `exp` is there and a number.
    cache.set(token, identity, payload.exp as number);
    return identity;
  }

  return { verify };
}

import { BrokerError } from '@mcp-broker/contracts';
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import { discoveryUrlOf, type IssuerConfig } from './issuer-config.ts';

/** An issuer ready for verification: its exact `iss`, the audience it must name, and its signing keys. */
export interface TrustedIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** Resolves the verification key for a token, discovering and fetching the JWKS on first use. */
  readonly getKey: JWTVerifyGetKey;
}

export interface TrustedIssuerOptions {
  /** Audience used when the issuer config names none. */
  audience: string;
  /** Minimum interval between JWKS refetches triggered by an unknown `kid`. */
  jwksCooldownMs: number;
  /** Timeout for each discovery and JWKS request. */
  timeoutMs: number;
  fetch: typeof fetch;
}

const discoveryDocumentSchema = z.object({ issuer: z.string(), jwks_uri: z.url() });

type RemoteJwks = ReturnType<typeof createRemoteJWKSet>;

function unavailable(issuer: string, message: string, cause: unknown): BrokerError {
  return new BrokerError('BROKER_NOT_READY', message, { details: { reason: 'issuer_unavailable', issuer }, cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Errors that come from matching the token's header against a fetched JWKS; everything else thrown
 * while resolving a key means the issuer could not be reached or served nonsense.
 */
function isKeySelectionError(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

export function createTrustedIssuer(config: IssuerConfig, options: TrustedIssuerOptions): TrustedIssuer {
  const { issuer } = config;

  async function discoverJwksUri(): Promise<string> {
    const url = discoveryUrlOf(config);
    let body: unknown;
    try {
      const response = await options.fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (error) {
      throw unavailable(
        issuer,
        `could not read the OpenID configuration of issuer "${issuer}" from ${url}: ${messageOf(error)}`,
        error,
      );
    }
    const parsed = discoveryDocumentSchema.safeParse(body);
    if (!parsed.success) {
      throw unavailable(issuer, `the OpenID configuration at ${url} has no valid issuer and jwks_uri`, parsed.error);
    }
    // OpenID Connect Discovery §4.3: a document naming another issuer must not be trusted (mix-up defence).
    if (parsed.data.issuer !== issuer) {
      throw unavailable(issuer, `the OpenID configuration at ${url} names issuer "${parsed.data.issuer}"`, undefined);
    }
    return parsed.data.jwks_uri;
  }

  let jwks: Promise<RemoteJwks> | undefined;

  function loadJwks(): Promise<RemoteJwks> {
    if (jwks !== undefined) return jwks;
    const pending = (config.jwksUri === undefined ? discoverJwksUri() : Promise.resolve(config.jwksUri)).then((uri) =>
      createRemoteJWKSet(new URL(uri), {
        cooldownDuration: options.jwksCooldownMs,
        timeoutDuration: options.timeoutMs,
        [customFetch]: options.fetch,
      }),
    );
    jwks = pending;
    // A failed discovery is forgotten so the next token retries it instead of failing until restart.
    pending.catch(() => {
      if (jwks === pending) jwks = undefined;
    });
    return pending;
  }

  async function getKey(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    const remote = await loadJwks();
    try {
      return await remote(header, token);
    } catch (error) {
      if (isKeySelectionError(error)) throw error;
      throw unavailable(issuer, `could not fetch the signing keys of issuer "${issuer}": ${messageOf(error)}`, error);
    }
  }

  return { issuer, audience: config.audience ?? options.audience, getKey };
}

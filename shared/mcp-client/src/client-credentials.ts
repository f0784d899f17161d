import { resolveSecret, SecretMissingError, type UpstreamCredentialConfig } from '@mcp-broker/broker-config';
import { parseRetryAfter } from '@mcp-broker/resilience';
import { McpCallError } from './mcp-call-error.ts';
import { redact } from './redact.ts';
import type { IssuedToken, TokenSource } from './token-cache.ts';
import { describeNetworkError } from './upstream-http.ts';

type ClientCredentialsConfig = Extract<UpstreamCredentialConfig, { type: 'client-credentials' }>;

export interface ClientCredentialsSourceOptions {
  env: Record<string, string | undefined>;
  fetch: (input: string | URL, init?: RequestInit) => Promise<Response>;
  now: () => number;
  requestTimeoutMs: number;
}

/** Lifetime assumed when the response names none (no `expires_in`, no JWT `exp`). */
const UNKNOWN_LIFETIME_MS = 10 * 60_000;

/**
 * OAuth 2.0 client-credentials grant (RFC 6749 §4.4) with the secret in the form body
 * (`client_secret_post`, which Entra and oidc-provider accept). Only `scope` names the target:
 * Entra v2 rejects the RFC 8707 `resource` parameter. The secret is read from the environment on each
 * request (so a missing variable fails the calls of this caller only) and never appears in an error.
 */
export function clientCredentialsSource(
  config: ClientCredentialsConfig,
  options: ClientCredentialsSourceOptions,
): TokenSource {
  const who = `client "${config.clientId}" at ${config.tokenUrl}`;
  return async () => {
    let secret: string;
    try {
      secret = resolveSecret(config.clientSecret, options.env);
    } catch (err) {
      if (err instanceof SecretMissingError) {
        throw new McpCallError(
          'permanent',
          'UPSTREAM_AUTH_FAILED',
          `Cannot request a token for ${who}: ${err.message}`,
        );
      }
      throw err;
    }
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: config.clientId,
      client_secret: secret,
      scope: config.scope,
    });
    const startedAt = options.now();
    let response: Response;
    try {
      response = await options.fetch(config.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
    } catch (err) {
      throw new McpCallError(
        'transient',
        'UPSTREAM_AUTH_UNAVAILABLE',
        `Token endpoint unreachable for ${who}: ${redact(describeNetworkError(err), [secret])}.`,
      );
    }
    const text = await response.text().catch(() => '');
    const json = parseJson(text);
    if (!response.ok) throw tokenEndpointError(response, json, text, who, secret);
    const token = json?.access_token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new McpCallError(
        'permanent',
        'UPSTREAM_AUTH_FAILED',
        `Token endpoint answered ${who} with HTTP ${response.status} but no access_token.`,
        { httpStatus: response.status },
      );
    }
    return { token, expiresAtMs: tokenExpiry(json?.expires_in, token, startedAt) } satisfies IssuedToken;
  };
}

/**
 * When a token stops being valid: the earlier of `expires_in` (counted from when the request was
 * sent) and the JWT `exp`; ten minutes when neither is known.
 */
export function tokenExpiry(expiresIn: unknown, token: string, requestedAtMs: number): number {
  const candidates: number[] = [];
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0)
    candidates.push(requestedAtMs + seconds * 1000);
  const exp = jwtExp(token);
  if (exp !== undefined) candidates.push(exp * 1000);
  return candidates.length ? Math.min(...candidates) : requestedAtMs + UNKNOWN_LIFETIME_MS;
}

function jwtExp(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

function tokenEndpointError(
  response: Response,
  json: Record<string, unknown> | undefined,
  text: string,
  who: string,
  secret: string,
): McpCallError {
  const oauthError = typeof json?.error === 'string' ? json.error : undefined;
  const description = typeof json?.error_description === 'string' ? json.error_description : undefined;
  const reason = redact(
    [oauthError, description].filter(Boolean).join(': ') || text.slice(0, 200) || response.statusText,
    [secret],
  ).slice(0, 400);
  const details = oauthError ? { oauthError } : undefined;
  const status = response.status;
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return new McpCallError(
      'rate_limited',
      'UPSTREAM_AUTH_UNAVAILABLE',
      `Token endpoint throttled ${who} (HTTP 429).`,
      {
        httpStatus: status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    );
  }
  if (status >= 500 || status === 408) {
    return new McpCallError(
      'transient',
      'UPSTREAM_AUTH_UNAVAILABLE',
      `Token endpoint failed for ${who} (HTTP ${status}): ${reason}`,
      {
        httpStatus: status,
        ...(details ? { details } : {}),
      },
    );
  }
  return new McpCallError(
    'permanent',
    'UPSTREAM_AUTH_FAILED',
    `Token endpoint refused ${who} (HTTP ${status}): ${reason}`,
    {
      httpStatus: status,
      ...(details ? { details } : {}),
    },
  );
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

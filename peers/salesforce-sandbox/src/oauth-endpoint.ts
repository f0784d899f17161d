/**
 * `POST /services/oauth2/token` for the two server-to-server flows a connected app (or external
 * client app) offers: client credentials, and the JWT bearer flow with the assertion's RS256
 * signature checked against the app's certificate or public key. Answers Salesforce's token
 * response, and its `{ error, error_description }` bodies (HTTP 400) on failure.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CryptoKey, errors, importJWK, importSPKI, importX509, type JWK, jwtVerify, type KeyObject } from 'jose';
import { readBody, sendJson } from './http-helpers.ts';
import type { SessionStore } from './session-store.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The connected app's JWT verification key: a PEM certificate or SPKI public key, a JWK, or a key object. */
export type JwtVerificationKey = string | JWK | CryptoKey | KeyObject;

export interface OAuthEndpointOptions {
  clientId: string;
  clientSecret: string;
  jwtPublicKey?: JwtVerificationKey;
  /** The integration user every token is issued for (the client-credentials run-as user, the JWT `sub`). */
  user: { userId: string; username: string };
  orgId: string;
  sessions: SessionStore;
  now: () => Date;
  /** Read at request time: the URLs are known only once the server listens. */
  urls: () => { loginUrl: string; instanceUrl: string };
}

interface OAuthError {
  error: string;
  error_description: string;
}

const oauthError = (error: string, description: string): OAuthError => ({ error, error_description: description });

async function importVerificationKey(key: JwtVerificationKey): Promise<CryptoKey | KeyObject> {
  if (typeof key === 'string') {
    return key.includes('BEGIN CERTIFICATE') ? importX509(key, 'RS256') : importSPKI(key, 'RS256');
  }
  if (typeof key === 'object' && 'kty' in key) return (await importJWK(key, 'RS256')) as CryptoKey;
  return key as CryptoKey | KeyObject;
}

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const trimSlash = (url: string) => url.replace(/\/+$/, '');

export function buildOAuthEndpoint(options: OAuthEndpointOptions) {
  let verificationKey: Promise<CryptoKey | KeyObject> | undefined;

  function issue(): Record<string, string> {
    const { loginUrl, instanceUrl } = options.urls();
    const session = options.sessions.issue(options.user, options.clientId, options.now());
    const id = `${loginUrl}/id/${options.orgId}/${options.user.userId}`;
    const issuedAt = String(session.issuedAt.getTime());
    const signature = createHmac('sha256', options.clientSecret)
      .update(id + issuedAt)
      .digest('base64');
    return {
      access_token: session.accessToken,
      signature,
      scope: 'api',
      instance_url: instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
  }

  function clientCredentials(params: URLSearchParams, request: IncomingMessage): OAuthError | undefined {
    let clientId = params.get('client_id');
    let clientSecret = params.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (basic?.[1]) {
      const [id, ...secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret.join(':'));
    }
    if (clientId !== options.clientId) return oauthError('invalid_client_id', 'client identifier invalid');
    if (clientSecret === null || !sameSecret(clientSecret, options.clientSecret)) {
      return oauthError('invalid_client', 'invalid client credentials');
    }
    return undefined;
  }

  async function jwtBearer(params: URLSearchParams): Promise<OAuthError | undefined> {
    const assertion = params.get('assertion');
    if (!assertion || !options.jwtPublicKey) return oauthError('invalid_grant', 'invalid assertion');
    verificationKey ??= importVerificationKey(options.jwtPublicKey);
    let claims: { iss?: string; sub?: string; aud?: string | string[] };
    try {
      ({ payload: claims } = await jwtVerify(assertion, await verificationKey, {
        algorithms: ['RS256'],
        requiredClaims: ['exp'],
        currentDate: options.now(),
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return oauthError('invalid_grant', 'expired authorization code');
      return oauthError('invalid_grant', 'invalid assertion');
    }
    if (claims.iss !== options.clientId) return oauthError('invalid_client_id', 'client identifier invalid');
    const audiences = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const loginUrl = trimSlash(options.urls().loginUrl);
    if (!audiences.some((aud) => trimSlash(aud) === loginUrl))
      return oauthError('invalid_grant', 'audience is invalid');
    if (claims.sub !== options.user.username) return oauthError('invalid_grant', "user hasn't approved this consumer");
    return undefined;
  }

  return async function handleToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const noStore = { 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' };
    if (request.method !== 'POST') {
      sendJson(response, 405, oauthError('invalid_request', 'must use HTTP POST'), noStore);
      return;
    }
    const params = new URLSearchParams(await readBody(request));
    const grantType = params.get('grant_type');
    const problem =
      grantType === 'client_credentials'
        ? clientCredentials(params, request)
        : grantType === JWT_BEARER_GRANT
          ? await jwtBearer(params)
          : oauthError('unsupported_grant_type', 'grant type not supported');
    if (problem) sendJson(response, 400, problem, noStore);
    else sendJson(response, 200, issue(), noStore);
  };
}

/**
 * `POST /oidc/v1/token`: OAuth M2M for a service principal (client credentials, RFC 6749 §4.4),
 * client authentication by HTTP Basic (`client_secret_basic`) or in the form
 * (`client_secret_post`), `scope=all-apis`. Answers `{ access_token, token_type, expires_in, scope }`
 * or an RFC 6749 §5.2 error.
 */

import { timingSafeEqual } from 'node:crypto';
import { oauthRefusal, type Refusal } from './databricks-errors.ts';
import type { TokenStore } from './token-store.ts';

export interface TokenEndpointOptions {
  clientId: string;
  clientSecret: string;
  tokens: TokenStore;
  lifetimeSeconds: number;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function clientOf(form: URLSearchParams, authorization: string | undefined) {
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id === null || secret === null ? undefined : { id, secret };
}

export function issueToken(
  options: TokenEndpointOptions,
  form: URLSearchParams,
  authorization: string | undefined,
): { ok: true; body: Record<string, unknown> } | { ok: false; refusal: Refusal } {
  const client = clientOf(form, authorization);
  if (!client || client.id !== options.clientId || !same(client.secret, options.clientSecret)) {
    return { ok: false, refusal: oauthRefusal(401, 'invalid_client', 'Client authentication failed') };
  }
  if (form.get('grant_type') !== 'client_credentials') {
    return { ok: false, refusal: oauthRefusal(400, 'unsupported_grant_type', 'Unsupported grant type') };
  }
  const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
  if (!scopes.includes('all-apis')) {
    return { ok: false, refusal: oauthRefusal(400, 'invalid_scope', 'The requested scope is invalid: use all-apis') };
  }
  return {
    ok: true,
    body: {
      access_token: options.tokens.issue(options.lifetimeSeconds),
      token_type: 'Bearer',
      expires_in: options.lifetimeSeconds,
      scope: 'all-apis',
    },
  };
}

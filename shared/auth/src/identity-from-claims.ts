import { BrokerError, type Identity } from '@mcp-broker/contracts';
import type { JWTPayload } from 'jose';

function stringClaim(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function spaceSeparated(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter((part) => part.length > 0) : [];
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string' && item.length > 0)
    : [];
}

/**
 * Maps verified claims to the caller's Identity. Entra puts the stable object id in `oid` (its `sub` is
 * pairwise per app), app-only Entra tokens name the client in `azp`/`appid`, and RFC 9068 tokens use
 * `client_id` and `scope`. Throws BROKER_TOKEN_INVALID when no claim names a subject.
 */
export function identityFromClaims(claims: JWTPayload, issuer: string): Identity {
  const subject = stringClaim(claims, 'oid') ?? stringClaim(claims, 'sub') ?? stringClaim(claims, 'client_id');
  if (subject === undefined) {
    throw new BrokerError('BROKER_TOKEN_INVALID', 'token names no subject (none of oid, sub or client_id is set)', {
      details: { reason: 'no_subject' },
    });
  }
  const clientAppId = stringClaim(claims, 'azp') ?? stringClaim(claims, 'appid') ?? stringClaim(claims, 'client_id');
  const tenantId = stringClaim(claims, 'tid');
  const permissions = [
    ...new Set([...spaceSeparated(claims.scp), ...stringArray(claims.roles), ...spaceSeparated(claims.scope)]),
  ];
  return {
    subject,
    ...(clientAppId === undefined ? {} : { clientAppId }),
    issuer,
    ...(tenantId === undefined ? {} : { tenantId }),
    tokenKind: typeof claims.scp === 'string' ? 'delegated' : 'app',
    permissions,
  };
}

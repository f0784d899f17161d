import { BrokerError, identitySchema } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { identityFromClaims } from './index.ts';

const issuer = 'https://login.microsoftonline.com/tenant-1/v2.0';

describe('identityFromClaims', () => {
  it('keys an Entra token by oid rather than its per-app pairwise sub', () => {
    const identity = identityFromClaims({ sub: 'pairwise', oid: 'object-id', tid: 'tenant-1', azp: 'client' }, issuer);
    expect(identity).toMatchObject({ subject: 'object-id', tenantId: 'tenant-1', clientAppId: 'client' });
  });

  it('falls back to sub, then client_id, for the subject', () => {
    expect(identityFromClaims({ sub: 's', client_id: 'c' }, issuer).subject).toBe('s');
    expect(identityFromClaims({ client_id: 'c' }, issuer).subject).toBe('c');
  });

  it('takes the client app id from azp, then Entra v1 appid, then client_id', () => {
    expect(identityFromClaims({ sub: 's', azp: 'a', appid: 'b', client_id: 'c' }, issuer).clientAppId).toBe('a');
    expect(identityFromClaims({ sub: 's', appid: 'b', client_id: 'c' }, issuer).clientAppId).toBe('b');
    expect(identityFromClaims({ sub: 's', client_id: 'c' }, issuer).clientAppId).toBe('c');
    expect(identityFromClaims({ sub: 's' }, issuer)).not.toHaveProperty('clientAppId');
  });

  it('unions scp, roles and scope into permissions without duplicates', () => {
    const identity = identityFromClaims(
      { sub: 's', scp: 'Orders.Read  Cases.Read', roles: ['Orders.Read', 'Admin'], scope: 'extra Cases.Read' },
      issuer,
    );
    expect(identity.permissions).toEqual(['Orders.Read', 'Cases.Read', 'Admin', 'extra']);
  });

  it('calls a token with scp delegated and any other token app', () => {
    expect(identityFromClaims({ sub: 's', scp: 'Orders.Read' }, issuer).tokenKind).toBe('delegated');
    expect(identityFromClaims({ sub: 's', roles: ['Orders.Read'] }, issuer).tokenKind).toBe('app');
    expect(identityFromClaims({ sub: 's', scope: 'orders:read' }, issuer).tokenKind).toBe('app');
  });

  it('ignores claims of the wrong type instead of trusting them', () => {
    const identity = identityFromClaims({ oid: 42, sub: 's', roles: 'Admin', tid: ['t'] }, issuer);
    expect(identity).toEqual({ subject: 's', issuer, tokenKind: 'app', permissions: [] });
  });

  it('produces a value the shared Identity schema accepts', () => {
    const identity = identityFromClaims({ oid: 'o', tid: 't', appid: 'a', roles: ['R'] }, issuer);
    expect(identitySchema.parse(identity)).toEqual(identity);
  });

  it('throws BROKER_TOKEN_INVALID when no claim names a subject', () => {
    expect(() => identityFromClaims({ roles: ['Admin'], sub: '' }, issuer)).toThrow(BrokerError);
    expect(() => identityFromClaims({ roles: ['Admin'] }, issuer)).toThrow(/names no subject/);
  });
});

import { describe, expect, it } from 'vitest';
import { entraIssuer } from './index.ts';
import { discoveryUrlOf } from './issuer-config.ts';

describe('entraIssuer', () => {
  it('names the Entra v2 issuer and its tenant discovery document', () => {
    expect(entraIssuer('00000000-0000-0000-0000-000000000001')).toEqual({
      issuer: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
      discoveryUrl:
        'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0/.well-known/openid-configuration',
    });
  });

  it('carries an audience override for app registrations whose tokens name the client id', () => {
    expect(entraIssuer('contoso.onmicrosoft.com', { audience: 'client-guid' }).audience).toBe('client-guid');
  });

  it('refuses a tenant id that would change the URL path', () => {
    expect(() => entraIssuer('common/../evil')).toThrow(/must be a GUID or a verified domain name/);
    expect(() => entraIssuer('')).toThrow();
  });
});

describe('discoveryUrlOf', () => {
  it('appends the well-known path to the issuer, dropping a trailing slash', () => {
    expect(discoveryUrlOf({ issuer: 'https://sts.windows.net/t/' })).toBe(
      'https://sts.windows.net/t/.well-known/openid-configuration',
    );
  });

  it('prefers an explicit discovery URL', () => {
    expect(discoveryUrlOf({ issuer: 'https://a', discoveryUrl: 'https://b/config' })).toBe('https://b/config');
  });
});

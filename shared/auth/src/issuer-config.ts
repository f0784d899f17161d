/** One token issuer this server trusts. */
export interface IssuerConfig {
  /** Exact expected `iss` claim value. */
  issuer: string;
  /** OpenID discovery document URL; defaults to `${issuer}/.well-known/openid-configuration`. */
  discoveryUrl?: string;
  /** JWKS URL; when given, discovery is skipped. */
  jwksUri?: string;
  /** Expected `aud` for this issuer's tokens; defaults to the verifier's audience. */
  audience?: string;
}

const entraAuthority = 'https://login.microsoftonline.com';

/**
 * Microsoft Entra ID v2 tokens for one tenant. Entra v1 tokens carry `https://sts.windows.net/{tenant}/`
 * as `iss` instead; add that as a separate issuer if the app registration still issues v1 tokens.
 */
export function entraIssuer(tenantId: string, options: { audience?: string } = {}): IssuerConfig {
  if (!/^[A-Za-z0-9.-]+$/.test(tenantId)) {
    throw new TypeError(`Entra tenant id "${tenantId}" must be a GUID or a verified domain name`);
  }
  const issuer = `${entraAuthority}/${tenantId}/v2.0`;
  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
  };
}

/** Where the issuer publishes its OpenID configuration, per OpenID Connect Discovery 1.0 §4. */
export function discoveryUrlOf(config: IssuerConfig): string {
  return config.discoveryUrl ?? `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

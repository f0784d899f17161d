/** Inputs for this server's RFC 9728 protected resource metadata. */
export interface ProtectedResourceMetadataOptions {
  /** This server's resource identifier; the audience its tokens must carry. */
  resource: string;
  /** Issuer identifiers of the authorization servers that issue tokens for this resource. */
  authorizationServers: readonly string[];
  /** Scopes (or app roles) that this resource understands. */
  scopesSupported: readonly string[];
  /** Human-readable name shown by clients. */
  resourceName?: string;
  /** URL of human-readable documentation for developers. */
  resourceDocumentation?: string;
}

/** The JSON document served at `/.well-known/oauth-protected-resource` (RFC 9728 §2). */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name?: string;
  resource_documentation?: string;
}

/** Builds the RFC 9728 metadata document; only the Authorization header may carry the token here. */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): ProtectedResourceMetadata {
  return {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    scopes_supported: [...options.scopesSupported],
    bearer_methods_supported: ['header'],
    ...(options.resourceName === undefined ? {} : { resource_name: options.resourceName }),
    ...(options.resourceDocumentation === undefined ? {} : { resource_documentation: options.resourceDocumentation }),
  };
}

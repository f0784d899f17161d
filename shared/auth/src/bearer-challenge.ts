/** What a `WWW-Authenticate: Bearer` challenge says (RFC 6750 §3, RFC 9728 §5.1). */
export interface BearerChallengeOptions {
  /** URL of this server's RFC 9728 protected resource metadata document. */
  resourceMetadataUrl: string;
  /** RFC 6750 error code; omit when the request carried no credentials at all. */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  /** Human-readable explanation; must not contain the token. */
  errorDescription?: string;
  /** Scopes that would satisfy the request, for `insufficient_scope`. */
  scope?: string | readonly string[];
}

/**
 * Serialises a value as an HTTP quoted-string. Control and non-ASCII characters become spaces so a
 * message can never split the header or be rejected by Node's header validation.
 */
function quoted(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, ' ');
  return `"${printable.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}

/** Builds the `WWW-Authenticate` header value for a 401 or 403 from this resource server. */
export function bearerChallenge(options: BearerChallengeOptions): string {
  const params: string[] = [];
  if (options.error !== undefined) params.push(`error=${quoted(options.error)}`);
  if (options.errorDescription !== undefined) params.push(`error_description=${quoted(options.errorDescription)}`);
  if (options.scope !== undefined) {
    const scope = typeof options.scope === 'string' ? options.scope : options.scope.join(' ');
    params.push(`scope=${quoted(scope)}`);
  }
  params.push(`resource_metadata=${quoted(options.resourceMetadataUrl)}`);
  return `Bearer ${params.join(', ')}`;
}

import { DeliveryError } from '@mcp-broker/broker';
import { type DatabricksWorkspaceConfig, resolveSecret, SecretMissingError } from '@mcp-broker/broker-config';
import { type IssuedToken, TokenCache } from '@mcp-broker/mcp-client';
import { networkErrorCode, parseRetryAfter } from '@mcp-broker/resilience';
import * as oauth from 'openid-client';

/** Where a workspace request gets its bearer token. */
export interface WorkspaceTokens {
  /** True when a refused token is worth one refresh (OAuth); a static token would be refused again. */
  readonly refreshable: boolean;
  getToken(options?: { signal?: AbortSignal; forceRefresh?: boolean }): Promise<string>;
}

export interface WorkspaceTokenOptions {
  env: Record<string, string | undefined>;
  /** Refresh an OAuth token this long before it expires. Default 5 minutes (tokens live an hour). */
  refreshBeforeMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

const authFailed = (message: string) => new DeliveryError('permanent', 'DATABRICKS_AUTH_FAILED', message);
const authUnavailable = (message: string, retryAfterMs?: number) =>
  new DeliveryError('transient', 'DATABRICKS_AUTH_UNAVAILABLE', message, retryAfterMs);

function secretOf(ref: { fromEnv: string }, env: Record<string, string | undefined>, who: string): string {
  try {
    return resolveSecret(ref, env);
  } catch (error) {
    if (error instanceof SecretMissingError) throw authFailed(`${who}: ${error.message}`);
    throw error;
  }
}

/**
 * The workspace's bearer tokens. OAuth M2M: the client-credentials grant at `{host}/oidc/v1/token`
 * (`scope=all-apis`, the client authenticated by HTTP Basic) through openid-client, cached and
 * refreshed `refreshBeforeMs` before it expires, one request in flight at a time (`TokenCache`). A
 * token reference: the secret, read at each use. Secrets are never logged or put in an error.
 */
export function workspaceTokens(workspace: DatabricksWorkspaceConfig, options: WorkspaceTokenOptions): WorkspaceTokens {
  const who = `Databricks workspace "${workspace.id}"`;
  const { auth } = workspace;
  if (auth.type === 'token') {
    return { refreshable: false, getToken: async () => secretOf(auth.token, options.env, who) };
  }
  const host = workspace.host.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const source = async (): Promise<IssuedToken> => {
    const secret = secretOf(auth.clientSecret, options.env, who);
    const config = new oauth.Configuration(
      { issuer: `${host}/oidc`, token_endpoint: `${host}/oidc/v1/token` },
      auth.clientId,
      undefined,
      oauth.ClientSecretBasic(secret),
    );
    // Only a configured http:// host (a local sandbox) gets here without TLS.
    if (host.startsWith('http://')) oauth.allowInsecureRequests(config);
    config.timeout = Math.ceil(workspace.requestTimeoutMs / 1000);
    // Throttling and outages are answered before openid-client reads them as OAuth errors.
    config[oauth.customFetch] = async (url, init) => {
      const response = await fetchImpl(url, init as RequestInit);
      if (response.status === 429 || response.status >= 500) {
        throw authUnavailable(
          `${who}: the token endpoint answered HTTP ${response.status}.`,
          parseRetryAfter(response.headers.get('retry-after')),
        );
      }
      return response;
    };
    const requestedAt = now();
    try {
      const token = await oauth.clientCredentialsGrant(config, { scope: 'all-apis' });
      const lifetimeS = token.expiresIn() ?? 3600;
      return { token: token.access_token, expiresAtMs: requestedAt + lifetimeS * 1000 };
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      // openid-client wraps what the fetch hook threw.
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof DeliveryError) throw cause;
      if (error instanceof oauth.ResponseBodyError) {
        throw authFailed(
          `${who}: the token endpoint refused client "${auth.clientId}" (HTTP ${error.status}): ${error.error}${
            error.error_description ? `: ${error.error_description}` : ''
          }`,
        );
      }
      const network = networkErrorCode(error) ?? networkErrorCode(cause);
      const reason = network ?? (error instanceof Error ? error.message : String(error));
      throw authUnavailable(`${who}: the token endpoint could not be used: ${reason}`.replace(secret, '…'));
    }
  };
  const cache = new TokenCache(source, { now, refreshBeforeMs: options.refreshBeforeMs ?? 5 * 60_000 });
  return {
    refreshable: true,
    getToken: async (request = {}) => {
      try {
        return await cache.getToken(request);
      } catch (error) {
        if (error instanceof DeliveryError) throw error;
        // The cache's own error: this caller stopped waiting.
        throw new DeliveryError('transient', 'DATABRICKS_TIMEOUT', `${who}: gave up waiting for a token.`);
      }
    },
  };
}

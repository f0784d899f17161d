import type { TokenCredential } from '@azure/identity';
import type { UpstreamCredentialConfig } from '@mcp-broker/broker-config';
import { azureCredentialSource, createAzureCredential } from './azure-credential.ts';
import { clientCredentialsSource } from './client-credentials.ts';
import { TokenCache } from './token-cache.ts';

export interface GetTokenOptions {
  /** Fetch a new token even if the cached one looks valid (the upstream answered 401). */
  forceRefresh?: boolean;
  /** Abandons this caller's wait (a shared fetch continues for other callers). */
  signal?: AbortSignal;
}

/** Bearer tokens for one caller's upstream identity. */
export interface TokenProvider {
  /** A valid access token; throws `McpCallError` (`UPSTREAM_AUTH_FAILED` or `UPSTREAM_AUTH_UNAVAILABLE`). */
  getToken(options?: GetTokenOptions): Promise<string>;
}

type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface TokenProviderOptions {
  /** Environment holding the referenced secrets (client secret, certificate PEM, federated token file). */
  env: Record<string, string | undefined>;
  /** HTTP client for the client-credentials grant. Default global `fetch`. */
  fetch?: Fetch;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Refresh a token once it is this close to expiry, in ms. Default 300,000 (5 min). */
  refreshBeforeMs?: number;
  /** Budget for one token request (client credentials), in ms. Default 30,000. */
  requestTimeoutMs?: number;
  /**
   * Builds the `@azure/identity` credential for the workload-identity, managed-identity and
   * client-certificate types. Default `createAzureCredential`; replaceable for tests.
   */
  azureCredential?: (
    credential: Exclude<UpstreamCredentialConfig, { type: 'client-credentials' }>,
    env: Record<string, string | undefined>,
  ) => TokenCredential;
}

/**
 * A cached token provider for one caller's upstream credential:
 * - `client-credentials`: an OAuth 2.0 client-credentials POST to `tokenUrl` (form body with
 *   `client_id`, `client_secret`, `scope`; no RFC 8707 `resource`, which Entra v2 rejects);
 * - `workload-identity`, `managed-identity`, `client-certificate`: `@azure/identity`, asked for `scope`.
 * Every provider caches and refreshes through `TokenCache` (early refresh, one fetch in flight).
 */
export function createTokenProvider(
  credential: UpstreamCredentialConfig,
  options: TokenProviderOptions,
): TokenProvider {
  const now = options.now ?? Date.now;
  const source =
    credential.type === 'client-credentials'
      ? clientCredentialsSource(credential, {
          env: options.env,
          fetch: options.fetch ?? fetch,
          now,
          requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
        })
      : azureCredentialSource(
          () => (options.azureCredential ?? createAzureCredential)(credential, options.env),
          credential.scope,
          describeCredential(credential),
        );
  return new TokenCache(source, {
    now,
    ...(options.refreshBeforeMs === undefined ? {} : { refreshBeforeMs: options.refreshBeforeMs }),
  });
}

function describeCredential(credential: Exclude<UpstreamCredentialConfig, { type: 'client-credentials' }>): string {
  return credential.clientId ? `${credential.type} "${credential.clientId}"` : credential.type;
}

import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { type EventGridCredential, resolveSecret, type UpstreamCredentialConfig } from '@mcp-broker/broker-config';
import { createTokenProvider, type TokenProviderOptions } from '@mcp-broker/mcp-client';

/** Event Grid's data-plane scope: tokens must carry `aud` https://eventgrid.azure.net. */
export const EVENT_GRID_SCOPE = 'https://eventgrid.azure.net/.default';

/** What an SDK client is built with: the access key itself, or an Entra token credential. */
export type ResolvedCredential = { kind: 'key'; key: string } | { kind: 'token'; credential: TokenCredential };

/**
 * The credential of a topic or namespace from its configuration: an access key from its secret
 * reference, or an Entra identity (workload identity, managed identity, client credentials)
 * asked for Event Grid's scope through the same cached token providers the MCP upstream uses.
 * Only the key is read here, from the passed environment; tokens are fetched when the SDK asks.
 */
export function resolveCredential(
  config: EventGridCredential,
  options: Pick<TokenProviderOptions, 'env' | 'fetch' | 'azureCredential'>,
): ResolvedCredential {
  if (config.type === 'access-key') return { kind: 'key', key: resolveSecret(config.key, options.env) };
  const upstream = { ...config, scope: EVENT_GRID_SCOPE } as UpstreamCredentialConfig;
  const provider = createTokenProvider(upstream, options);
  return {
    kind: 'token',
    credential: {
      async getToken(): Promise<AccessToken> {
        // The provider caches and refreshes early; the SDK's bearer policy asks again when this says it expires.
        return { token: await provider.getToken(), expiresOnTimestamp: Date.now() + 60_000 };
      },
    },
  };
}

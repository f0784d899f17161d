import type { BrokerConfig } from '@mcp-broker/broker-config';
import { McpClientPool } from './client-pool.ts';
import { createTokenProvider, type TokenProvider } from './token-provider.ts';
import { ToolCatalog } from './tool-catalog.ts';

export interface BrokerUpstreamOptions {
  /** Environment holding the secrets the configuration references. */
  env: Record<string, string | undefined>;
  /** Pooled clients per (caller, endpoint). */
  poolSize?: number;
  idleMs?: number;
  /** How long a `tools/list` result is trusted, in ms. */
  catalogTtlMs?: number;
  fetch?: typeof fetch;
}

/** What the broker needs to act on callers' behalf: their token providers, a client pool and a catalog. */
export interface BrokerUpstream {
  pool: McpClientPool;
  catalog: ToolCatalog;
  tokenProvider(caller: string): TokenProvider;
  close(): Promise<void>;
}

/** Builds one token provider per caller (its own upstream identity) and the shared pool over them. */
export function createBrokerUpstream(config: BrokerConfig, options: BrokerUpstreamOptions): BrokerUpstream {
  const providers = new Map<string, TokenProvider>();
  for (const caller of config.callers) {
    providers.set(
      caller.id,
      createTokenProvider(caller.upstream.credential, {
        env: options.env,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    );
  }
  const tokenProvider = (caller: string) => {
    const provider = providers.get(caller);
    if (!provider) throw new Error(`No configured caller "${caller}".`);
    return provider;
  };
  const pool = new McpClientPool({
    env: options.env,
    ...(options.poolSize ? { maxPerKey: options.poolSize } : {}),
    ...(options.idleMs ? { idleMs: options.idleMs } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    resolve: (key) => {
      const endpoint = config.endpoints[key.endpoint];
      if (!endpoint) throw new Error(`No configured endpoint "${key.endpoint}".`);
      return { endpoint, tokenProvider: tokenProvider(key.caller) };
    },
  });
  const catalog = new ToolCatalog({ pool, ...(options.catalogTtlMs ? { ttlMs: options.catalogTtlMs } : {}) });
  return { pool, catalog, tokenProvider, close: () => pool.close() };
}

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { classifyError } from './classify-error.ts';
import type { McpClientPool, PoolKey } from './client-pool.ts';
import { McpCallError } from './mcp-call-error.ts';

export interface UpstreamRequestOptions {
  pool: McpClientPool;
  key: PoolKey;
  /** Names the request in error messages, e.g. `tool "x" on endpoint "y"`. */
  what: string;
  signal?: AbortSignal | undefined;
}

/**
 * Runs one request on a pooled client with the package's error policy: failures become
 * `McpCallError`; a client that saw a connection-level failure is discarded; a refused token
 * (HTTP 401 / JSON-RPC -32002) is refreshed (`forceRefresh`) and the request retried ONCE on a new
 * client, after which it fails as permanent `UPSTREAM_UNAUTHORIZED`. `attempts` counts requests sent.
 */
export async function upstreamRequest<T>(
  options: UpstreamRequestOptions,
  send: (client: Client) => Promise<T>,
): Promise<{ value: T; attempts: number }> {
  const { pool, key, what, signal } = options;
  for (let attempt = 1; ; attempt++) {
    let lease: Awaited<ReturnType<McpClientPool['acquire']>> | undefined;
    try {
      lease = await pool.acquire(key, signal ? { signal } : {});
      const value = await send(lease.client);
      lease.release();
      return { value, attempts: attempt };
    } catch (err) {
      const { error, discardClient } = classifyError(err, { what, signal });
      lease?.release({ discard: discardClient });
      if (error.kind !== 'unauthorized') throw error;
      if (attempt > 1) {
        throw new McpCallError(
          'permanent',
          'UPSTREAM_UNAUTHORIZED',
          `${what}: the upstream refused the caller's token again after a refresh; check the credential's audience and roles. ${error.message}`,
          {
            ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
            ...(error.rpcCode === undefined ? {} : { rpcCode: error.rpcCode }),
            ...(error.details === undefined ? {} : { details: error.details }),
            cause: error,
          },
        );
      }
      await pool.target(key).tokenProvider.getToken({ forceRefresh: true, ...(signal ? { signal } : {}) });
    }
  }
}

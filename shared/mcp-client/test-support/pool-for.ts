import { endpointSchema } from '@mcp-broker/broker-config';
import { McpClientPool, type McpClientPoolOptions } from '../src/client-pool.ts';
import type { TokenProvider } from '../src/token-provider.ts';

export type TransportName = 'streamable-http' | 'sse';

/** The URL a transport uses on an MCP server base URL (`/mcp` or `/sse`). */
export function endpointUrl(baseUrl: string, transport: TransportName): string {
  return `${baseUrl}${transport === 'sse' ? '/sse' : '/mcp'}`;
}

/**
 * A pool whose every key resolves to one endpoint and one token provider: what the worker builds
 * from the broker configuration, reduced to a single caller.
 */
export function poolFor(
  baseUrl: string,
  tokenProvider: TokenProvider,
  options: Partial<Omit<McpClientPoolOptions, 'resolve'>> & {
    transport?: TransportName;
    endpoint?: Record<string, unknown>;
  } = {},
): McpClientPool {
  const { transport = 'streamable-http', endpoint: endpointOverrides, ...poolOptions } = options;
  const endpoint = endpointSchema.parse({ url: endpointUrl(baseUrl, transport), transport, ...endpointOverrides });
  return new McpClientPool({ env: {}, ...poolOptions, resolve: () => ({ endpoint, tokenProvider }) });
}

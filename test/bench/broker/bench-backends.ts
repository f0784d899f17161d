import { type BenchChild, spawnChild } from '../mcp/children.ts';

export interface BenchBackendOptions {
  databaseId: string;
  /** The dev OAuth server's issuer, whose tokens the MCP server accepts. */
  issuer: string;
  redisUrl: string;
  /** The run's Redis key prefix (the MCP server's audit stream lives under it). */
  prefix: string;
  logLevel: string;
  logDir: string;
  /** Node flags per child (CPU profiling). */
  nodeFlags: (name: 'cosmos' | 'mcp') => string[];
  /** Called with each child as soon as it is up, so the caller stops it on every path. */
  track: (child: BenchChild) => BenchChild;
}

export interface BenchBackends {
  cosmos: BenchChild;
  mcp: BenchChild;
  store: { endpoint: string; key: string };
}

/**
 * The two children every broker-side benchmark stands on: the embedded Cosmos store (a fresh
 * database) and the governed echo MCP server over it, started in this order with the same env.
 */
export async function startBenchBackends(o: BenchBackendOptions): Promise<BenchBackends> {
  const cosmos = o.track(
    await spawnChild({
      name: 'cosmos',
      entry: '../broker/cosmos-main.ts',
      env: { BENCH_DATABASE: o.databaseId },
      logDir: o.logDir,
      nodeFlags: o.nodeFlags('cosmos'),
    }),
  );
  const store = cosmos.info as { endpoint: string; key: string };
  const mcp = o.track(
    await spawnChild({
      name: 'mcp',
      entry: '../broker/mcp-server-main.ts',
      env: {
        BENCH_ISSUER: o.issuer,
        BENCH_COSMOS_ENDPOINT: store.endpoint,
        BENCH_COSMOS_KEY: store.key,
        BENCH_DATABASE: o.databaseId,
        BENCH_REDIS_URL: o.redisUrl,
        BENCH_REDIS_PREFIX: o.prefix,
        BENCH_LOG_LEVEL: o.logLevel,
      },
      logDir: o.logDir,
      nodeFlags: o.nodeFlags('mcp'),
    }),
  );
  return { cosmos, mcp, store };
}

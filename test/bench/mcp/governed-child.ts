/**
 * The governed MCP server as a benchmark or chaos child runs it: wired as `start.ts` wires it (JWT
 * verification against the dev OAuth server, per-identity rate limit in Redis, audit records in the
 * store), serving only the tools it is given. Settings come from `<prefix>_ISSUER`,
 * `<prefix>_COSMOS_ENDPOINT`, `<prefix>_COSMOS_KEY`, `<prefix>_DATABASE`, `<prefix>_REDIS_URL`,
 * `<prefix>_REDIS_PREFIX` and `<prefix>_LOG_LEVEL`.
 */
import { createTokenVerifier } from '@mcp-broker/auth';
import { buildMcpServer, type ToolDefinition } from '@mcp-broker/mcp-server';
import { createLogger } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { announceReady, drainAuditOp, requiredEnv, serveParent } from './ipc.ts';

export async function runGovernedChild(options: {
  envPrefix: string;
  tools: ToolDefinition[];
  resource: string;
  /** 0: any free port. */
  port: number;
  defaultLogLevel: string;
}): Promise<void> {
  const env = (name: string) => requiredEnv(`${options.envPrefix}_${name}`);
  const issuer = env('ISSUER');
  const logger = createLogger({
    name: 'mcp-server',
    level: process.env[`${options.envPrefix}_LOG_LEVEL`] ?? options.defaultLogLevel,
  });
  const store = await createStore({
    endpoint: env('COSMOS_ENDPOINT'),
    key: env('COSMOS_KEY'),
    databaseId: env('DATABASE'),
    createIfMissing: false,
  });
  // As start.ts: fail fast instead of queueing commands while Redis is down.
  const redis = new Redis(env('REDIS_URL'), { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  await redis.connect();

  const server = buildMcpServer({
    logger,
    store,
    redis,
    verifier: createTokenVerifier({ issuers: [{ issuer }], audience: options.resource }),
    tools: options.tools,
    publicUrl: 'http://127.0.0.1',
    resource: options.resource,
    authorizationServers: [issuer],
    redisKeyPrefix: env('REDIS_PREFIX'),
    // One billion calls per minute: every request spends a point in Redis, none is ever refused.
    rateLimit: { perIdentity: { points: 1_000_000_000, windowSeconds: 60 } },
  });
  const url = await server.app.listen({ host: '127.0.0.1', port: options.port });

  serveParent({ drainAudit: drainAuditOp(server) }, async () => {
    await server.close();
    redis.disconnect();
    await store.close();
  });
  announceReady({ url, pid: process.pid });
}

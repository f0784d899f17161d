/**
 * Broker benchmark child: the governed MCP server (`buildMcpServer`, wired as `start.ts` wires it:
 * JWT verification against the dev OAuth server, per-identity rate limit in Redis, audit records in
 * the store) serving only the benchmark's echo tool. The per-identity quota is too high to ever
 * trigger. Env: BENCH_ISSUER, BENCH_COSMOS_ENDPOINT, BENCH_COSMOS_KEY, BENCH_DATABASE,
 * BENCH_REDIS_URL, BENCH_REDIS_PREFIX, BENCH_LOG_LEVEL. Logs go to stdout (a file the runner chose).
 */
import { createTokenVerifier } from '@mcp-broker/auth';
import { buildMcpServer } from '@mcp-broker/mcp-server';
import { createLogger } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { announceReady, drainAuditOp, requiredEnv, serveParent } from '../mcp/ipc.ts';
import { BENCH_RESOURCE, echoTool } from './echo-tool.ts';

const issuer = requiredEnv('BENCH_ISSUER');
const logger = createLogger({ name: 'mcp-server', level: process.env.BENCH_LOG_LEVEL ?? 'info' });
const store = await createStore({
  endpoint: requiredEnv('BENCH_COSMOS_ENDPOINT'),
  key: requiredEnv('BENCH_COSMOS_KEY'),
  databaseId: requiredEnv('BENCH_DATABASE'),
  createIfMissing: false,
});
// As start.ts: fail fast instead of queueing commands while Redis is down.
const redis = new Redis(requiredEnv('BENCH_REDIS_URL'), {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  lazyConnect: true,
});
redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
await redis.connect();

const server = buildMcpServer({
  logger,
  store,
  redis,
  verifier: createTokenVerifier({ issuers: [{ issuer }], audience: BENCH_RESOURCE }),
  tools: [echoTool],
  publicUrl: 'http://127.0.0.1',
  resource: BENCH_RESOURCE,
  authorizationServers: [issuer],
  redisKeyPrefix: requiredEnv('BENCH_REDIS_PREFIX'),
  // One billion calls per minute: every request spends a point in Redis, none is ever refused.
  rateLimit: { perIdentity: { points: 1_000_000_000, windowSeconds: 60 } },
});
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });

serveParent({ drainAudit: drainAuditOp(server) }, async () => {
  await server.close();
  redis.disconnect();
  await store.close();
});
announceReady({ url, pid: process.pid });

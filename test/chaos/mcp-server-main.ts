/**
 * Chaos child: the governed MCP server (wired as the benchmark's `mcp-server-main.ts`: JWT
 * verification against the dev OAuth server, Redis rate limit, audit records in the store) serving
 * only the recording tool, on a fixed port so that a restarted server keeps the URL the broker
 * configuration names. Env: CHAOS_PORT, CHAOS_ISSUER, CHAOS_COSMOS_ENDPOINT, CHAOS_COSMOS_KEY,
 * CHAOS_DATABASE, CHAOS_REDIS_URL, CHAOS_REDIS_PREFIX, CHAOS_INVOCATION_LOG, CHAOS_LOG_LEVEL.
 */
import { createTokenVerifier } from '@mcp-broker/auth';
import { buildMcpServer } from '@mcp-broker/mcp-server';
import { createLogger } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { announceReady, drainAuditOp, requiredEnv, serveParent } from '../bench/mcp/ipc.ts';
import { CHAOS_RESOURCE, recordingTool } from './recording-tool.ts';

const issuer = requiredEnv('CHAOS_ISSUER');
const logger = createLogger({ name: 'mcp-server', level: process.env.CHAOS_LOG_LEVEL ?? 'warn' });
const store = await createStore({
  endpoint: requiredEnv('CHAOS_COSMOS_ENDPOINT'),
  key: requiredEnv('CHAOS_COSMOS_KEY'),
  databaseId: requiredEnv('CHAOS_DATABASE'),
  createIfMissing: false,
});
const redis = new Redis(requiredEnv('CHAOS_REDIS_URL'), {
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
  verifier: createTokenVerifier({ issuers: [{ issuer }], audience: CHAOS_RESOURCE }),
  tools: [recordingTool(requiredEnv('CHAOS_INVOCATION_LOG'))],
  publicUrl: 'http://127.0.0.1',
  resource: CHAOS_RESOURCE,
  authorizationServers: [issuer],
  redisKeyPrefix: requiredEnv('CHAOS_REDIS_PREFIX'),
  rateLimit: { perIdentity: { points: 1_000_000_000, windowSeconds: 60 } },
});
const url = await server.app.listen({ host: '127.0.0.1', port: Number(requiredEnv('CHAOS_PORT')) });

serveParent({ drainAudit: drainAuditOp(server) }, async () => {
  await server.close();
  redis.disconnect();
  await store.close();
});
announceReady({ url, pid: process.pid });

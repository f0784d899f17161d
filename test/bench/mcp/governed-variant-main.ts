/**
 * Ablation child: the governed server wired like `start.ts`, but through `buildMcpServer` so single
 * governance steps can be switched off or replaced, to measure what each one costs per call.
 * BENCH_ABLATE is a comma list of:
 *   logs        log level warn instead of info (no per-request "request completed" line)
 *   audit       audit records are built but not written to Cosmos
 *   token       no JWT verification: a fixed identity for every request
 *   token-cache no verified-token cache: every request's JWT is verified in full
 *   audit-batch no audit buffering: one Cosmos create per record, started when the call ends
 *   ratelimit   no per-identity Redis round trip
 * Other env as for governed-main.ts, plus BENCH_TOOL (see bench-tool.ts).
 */
import { createTokenVerifier } from '@mcp-broker/auth';
import type { Identity } from '@mcp-broker/contracts';
import { buildMcpServer } from '@mcp-broker/mcp-server';
import { createLogger } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';
// Not exported by the package; patched on its prototype for the `ratelimit` ablation only.
import { RateLimits } from '../../../services/mcp-server/src/governance/rate-limits.ts';
import { benchTool } from './bench-tool.ts';
import { announceReady, drainAuditOp, requiredEnv, serveParent } from './ipc.ts';

const ablate = new Set(
  (process.env.BENCH_ABLATE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const known = ['logs', 'audit', 'audit-batch', 'token', 'token-cache', 'ratelimit'];
for (const a of ablate) if (!known.includes(a)) throw new Error(`BENCH_ABLATE: unknown step "${a}"`);

const issuer = requiredEnv('BENCH_ISSUER');
const resource = requiredEnv('BENCH_RESOURCE');
const logger = createLogger({
  name: 'mcp-server',
  level: ablate.has('logs') ? 'warn' : (process.env.BENCH_LOG_LEVEL ?? 'info'),
});
const realStore = await createStore({
  endpoint: requiredEnv('BENCH_COSMOS_ENDPOINT'),
  key: requiredEnv('BENCH_COSMOS_KEY'),
  databaseId: requiredEnv('BENCH_DATABASE'),
});
const noAuditWrites = {
  items: {
    create: async () => ({}),
    batch: async (operations: unknown[]) => ({ result: operations.map(() => ({ statusCode: 201 })) }),
  },
} as unknown as ReturnType<Store['container']>;
const store: Store = ablate.has('audit')
  ? { ...realStore, container: (name) => (name === 'audit' ? noAuditWrites : realStore.container(name)) }
  : realStore;

const redis = new Redis(requiredEnv('BENCH_REDIS_URL'), {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  lazyConnect: true,
});
redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
await redis.connect();

if (ablate.has('ratelimit')) RateLimits.prototype.consumeIdentity = async () => undefined;

const jwtVerifier = createTokenVerifier({
  issuers: [{ issuer }],
  audience: resource,
  ...(ablate.has('token-cache') ? { cache: { maxEntries: 0 } } : {}),
});
const fixedIdentity: Identity = {
  subject: 'bench-app',
  clientAppId: 'bench-client',
  issuer,
  tokenKind: 'app',
  permissions: ['Customers.Read'],
};
const verifier = ablate.has('token') ? { verify: async () => fixedIdentity } : jwtVerifier;

const server = buildMcpServer({
  logger,
  store,
  redis,
  verifier,
  tools: [benchTool()],
  publicUrl: 'http://127.0.0.1:0',
  resource,
  authorizationServers: [issuer],
  redisKeyPrefix: requiredEnv('BENCH_REDIS_PREFIX'),
  rateLimit: { perIdentity: { points: 1_000_000_000, windowSeconds: 60 } },
  ...(ablate.has('audit-batch') ? { auditBuffer: { batchSize: 1 } } : {}),
});
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });

serveParent({ drainAudit: drainAuditOp(server) }, async () => {
  await server.close();
  redis.disconnect();
  await realStore.close();
});
announceReady({ url, pid: process.pid, ablate: [...ablate] });

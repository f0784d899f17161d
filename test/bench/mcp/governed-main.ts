/**
 * Benchmark child: the governed MCP server, started exactly as `main.ts` starts it
 * (`startMcpServer` with a parsed config), with a per-identity quota too high to ever trigger.
 * Env: BENCH_ISSUER, BENCH_RESOURCE, BENCH_COSMOS_ENDPOINT, BENCH_COSMOS_KEY, BENCH_DATABASE,
 * BENCH_REDIS_URL, BENCH_REDIS_PREFIX, BENCH_LOG_LEVEL. Logs go to stdout (a file the runner chose).
 */
import { randomBytes } from 'node:crypto';
import { mcpServerConfigSchema, startMcpServer } from '@mcp-broker/mcp-server';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { benchTool } from './bench-tool.ts';
import { announceReady, drainAuditOp, requiredEnv, serveParent } from './ipc.ts';

benchTool(); // fail fast when the product tool is missing
const config = loadConfig(mcpServerConfigSchema, {
  HOST: '127.0.0.1',
  PORT: '0',
  MCP_RESOURCE: requiredEnv('BENCH_RESOURCE'),
  OAUTH_ISSUERS: requiredEnv('BENCH_ISSUER'),
  COSMOS_ENDPOINT: requiredEnv('BENCH_COSMOS_ENDPOINT'),
  COSMOS_KEY: requiredEnv('BENCH_COSMOS_KEY'),
  COSMOS_DATABASE: requiredEnv('BENCH_DATABASE'),
  REDIS_URL: requiredEnv('BENCH_REDIS_URL'),
  REDIS_KEY_PREFIX: requiredEnv('BENCH_REDIS_PREFIX'),
  // One billion calls per minute: every request spends a point in Redis, none is ever refused.
  RATE_LIMIT_PER_MINUTE: '1000000000',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  // Required with COSMOS_ENDPOINT (generate_contract's document links); unused by the benchmark.
  DOCUMENT_LINK_SECRET: randomBytes(32).toString('base64url'),
});
const logger = createLogger({ name: 'mcp-server', level: config.LOG_LEVEL });
const started = await startMcpServer(config, logger);

serveParent({ drainAudit: drainAuditOp(started.server) }, () => started.close());
announceReady({ url: started.url, pid: process.pid });

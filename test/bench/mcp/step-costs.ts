/**
 * What each governance step costs on its own: runs each step of the governed pipeline in isolation,
 * many times, against the same peers as the benchmark (embedded Cosmos in its own process, Redis,
 * the loopback issuer), and reports CPU microseconds per operation in this process, plus in the
 * peer that does the other half of the work (Cosmos, Redis). Unlike whole-server ablation on a
 * saturated 2-core machine, these figures are additive.
 *
 *   node test/bench/mcp/step-costs.ts
 *
 * Env: BENCH_STEP_OPS (5000; the tool and SDK steps run a fifth of that), BENCH_CONCURRENCY (32),
 * REDIS_URL. Output: a table; JSON in the temporary log directory.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenVerifier } from '@mcp-broker/auth';
import { startLocalTestIssuer } from '@mcp-broker/auth/testing';
import { fingerprint, type Identity } from '@mcp-broker/contracts';
import { Deadline } from '@mcp-broker/resilience';
import { createLogger } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { Redis } from 'ioredis';
import pino from 'pino';
// Not exported by the package: the governance classes themselves, measured as the server uses them.
import { AuditLog } from '../../../services/mcp-server/src/governance/audit-log.ts';
import { RateLimits } from '../../../services/mcp-server/src/governance/rate-limits.ts';
import { gateJsonRpc } from '../../../services/mcp-server/src/protocol/json-rpc-gate.ts';
import { measureStep, type StepResult } from '../step-measure.ts';
import { benchTool } from './bench-tool.ts';
import { type BenchChild, killAllChildren, spawnChild } from './children.ts';
import { redisCpuMicros } from './redis-cpu.ts';

const ops = Number(process.env.BENCH_STEP_OPS ?? 5000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RESOURCE = 'api://mcp-broker-bench';

/**
 * The what-if rows' paths: the list the shared logger (shared/runtime) gave pino's `redact` before
 * issue 14 (its wildcards cost ~14 µs a line); the logger now walks fields by name instead.
 */
const redactedPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["ocp-apim-subscription-key"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.Authorization',
  'token',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.subscriptionKey',
  '*.key',
  '*.assertion',
];

const children: BenchChild[] = [];
process.on('exit', killAllChildren);
process.once('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});

const logDir = await mkdtemp(join(tmpdir(), 'mcpb-steps-'));
const issuer = await startLocalTestIssuer();
const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
try {
  const databaseId = `bench-${randomUUID().slice(0, 8)}`;
  const cosmos = await spawnChild({
    name: 'cosmos',
    entry: 'cosmos-main.ts',
    env: { BENCH_DATABASE: databaseId, BENCH_CUSTOMERS: '200' },
    logDir,
    readyTimeoutMs: 180_000,
  });
  children.push(cosmos);
  const { endpoint, key } = cosmos.info as { endpoint: string; key: string };
  const store = await createStore({ endpoint, key, databaseId });
  await redis.connect();
  const cosmosPeer = { name: 'cosmos', cpu: () => cosmos.call<number>('cpu') };
  const redisPeer = { name: 'redis', cpu: () => redisCpuMicros(redisUrl) };
  // Same logger setup and destination kind as the benchmark's servers: pino, synchronous, to a file.
  const logger = createLogger({
    name: 'mcp-server',
    level: 'info',
    destination: pino.destination({ dest: join(logDir, 'steps.log'), sync: true }),
  });
  const identity: Identity = {
    subject: 'bench-app',
    clientAppId: 'bench-client',
    issuer: issuer.issuer,
    tokenKind: 'app',
    permissions: ['Customers.Read'],
  };
  const token = await issuer.sign({ sub: 'bench-app', azp: 'bench-client', roles: ['Customers.Read'], aud: RESOURCE });
  const results: StepResult[] = [];
  const report = (r: StepResult) => {
    results.push(r);
    console.log(
      `${r.step.padEnd(44)} ${r.cpuUs.toFixed(1).padStart(8)} µs CPU/op` +
        (r.peer ? `  + ${r.peerCpuUs?.toFixed(1) ?? '?'} µs in ${r.peer}` : '') +
        `   (${r.ops} ops, ${r.wallUs.toFixed(1)} µs wall/op at ${concurrency} in flight)`,
    );
  };
  console.log(`step costs, ${ops} ops each (logs in ${logDir})\n`);

  // 1. Bearer token: jose RS256 verification against the issuer's JWKS (cached after the first call).
  const uncached = createTokenVerifier({
    issuers: [{ issuer: issuer.issuer }],
    audience: RESOURCE,
    cache: { maxEntries: 0 },
  });
  report(
    await measureStep('token: verify JWT (RS256, jose), no cache', ops, concurrency, () =>
      uncached.verify(`Bearer ${token}`),
    ),
  );
  // As the server runs it: a token sent again is answered from the verified-token cache.
  const verifier = createTokenVerifier({ issuers: [{ issuer: issuer.issuer }], audience: RESOURCE });
  report(
    await measureStep('token: the same token again (cache)', ops, concurrency, () =>
      verifier.verify(`Bearer ${token}`),
    ),
  );

  // 2. Per-identity rate limit: one rate-limiter-flexible consume (a Lua script) in Redis.
  const rateLimits = new RateLimits({
    redis,
    keyPrefix: `bench:${randomUUID()}:`,
    perIdentity: { points: 1_000_000_000, windowSeconds: 60 },
    logger,
  });
  report(
    await measureStep(
      'rate limit: consume 1 point (Redis)',
      ops,
      concurrency,
      () => rateLimits.consumeIdentity({ issuer: 'https://bench.example', subject: 'bench-app' }),
      redisPeer,
    ),
  );

  // 3. Audit: build the record, hash the arguments, write it to Cosmos (the server does not await
  //    it): one create per record (batchSize 1, as before buffering), then as the server runs it
  //    (buffered per partition, one transactional batch per partition and flush).
  const auditEntry = (i: number) =>
    ({
      identity,
      requestId: randomUUID(),
      transport: 'streamable-http',
      tool: 'query_customer_data',
      argumentsSha256: fingerprint({ customer_id: `cus-${String((i % 200) + 1).padStart(6, '0')}` }),
      outcome: 'success',
      durationMs: 12.34,
    }) as Parameters<AuditLog['record']>[0];
  for (const [step, audit] of [
    ['audit: record + one Cosmos create each', new AuditLog({ store, logger, batchSize: 1 })],
    ['audit: record, buffered, batch per partition', new AuditLog({ store, logger })],
  ] as const) {
    report(
      await measureStep(
        step,
        ops,
        concurrency,
        (i) => audit.record(auditEntry(i)),
        cosmosPeer,
        () => audit.flush(),
      ),
    );
  }

  // 4. Logging the governed server added per request before issue 14's second round: two child
  //    loggers (subject; request id + tool) and the runtime's "request completed" line at info.
  report(
    await measureStep('logging (before): 2 child loggers + "request completed"', ops, 1, (i) => {
      const requestLog = logger.child({ requestId: `r-${i}` }).child({ subject: 'bench-app' });
      logger.child({ requestId: `r-${i}`, tool: 'query_customer_data', subject: 'bench-app' });
      requestLog.info({ method: 'POST', url: '/mcp', statusCode: 200, ms: 12.34 }, 'request completed');
    }),
  );

  // Since issue 14: the subject is added to the request's own child, the tool's child is built only
  // when the call logs (a successful call does not), so one child and one line per request.
  report(
    await measureStep('logging (now): 1 child + subject + "request completed"', ops, 1, (i) => {
      const requestLog = logger.child({ requestId: `r-${i}` });
      requestLog.setBindings({ subject: 'bench-app' });
      requestLog.info({ method: 'POST', url: '/mcp', statusCode: 200, ms: 12.34 }, 'request completed');
    }),
  );
  // What the redaction costs in the shared logger (shared/runtime): the same line from pino with the
  // same paths, with only the paths that have no wildcard, and with none.
  const redactedLogger = (paths: string[] | undefined) =>
    pino(
      { name: 'mcp-server', level: 'info', ...(paths ? { redact: { paths, censor: '[REDACTED]' } } : {}) },
      pino.destination({ dest: join(logDir, 'steps-redact.log'), sync: true }),
    );
  for (const [step, paths] of [
    ['what-if, logging with pino redact: all paths', [...redactedPaths]],
    ['what-if, logging with pino redact: no * paths', redactedPaths.filter((p) => !p.startsWith('*'))],
    ['what-if, logging with pino: no redact', undefined],
  ] as const) {
    const base = redactedLogger(paths as string[] | undefined);
    report(
      await measureStep(step, ops, 1, (i) => {
        const requestLog = base.child({ requestId: `r-${i}` });
        requestLog.setBindings({ subject: 'bench-app' });
        requestLog.info({ method: 'POST', url: '/mcp', statusCode: 200, ms: 12.34 }, 'request completed');
      }),
    );
  }

  // 5. Per-call guards in the protocol server: timeout + cancellation signals.
  report(
    await measureStep('signals (before): AbortSignal.timeout + any', ops, 1, () => {
      const controller = new AbortController();
      AbortSignal.any([controller.signal, AbortSignal.timeout(10_000)]);
      controller.abort();
    }),
  );
  report(
    await measureStep('signals (now): one Deadline', ops, 1, () => {
      const controller = new AbortController();
      const deadline = new Deadline(10_000, { outer: controller.signal, what: 'The tool' });
      controller.abort();
      deadline.dispose();
    }),
  );

  // 6. The JSON-RPC gate on a tools/call body (depth on the text, parse, envelope, method schema)
  //    and the argument fingerprint the audit record carries.
  const callBody = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'query_customer_data', arguments: { customer_id: 'cus-000001' } },
  });
  report(await measureStep('gate: JSON-RPC tools/call (parse + schemas)', ops, 1, () => gateJsonRpc(callBody)));
  report(
    await measureStep('audit: argument fingerprint (canonical JSON + SHA-256)', ops, 1, () =>
      fingerprint({ customer_id: 'cus-000001' }),
    ),
  );

  // For scale: what every call costs with or without governance.
  const tool = benchTool();
  const noSignal = new AbortController().signal;
  report(
    await measureStep(
      `tool: ${tool.name} handler (5 Cosmos requests)`,
      Math.ceil(ops / 5),
      concurrency,
      (i) =>
        tool.handler(
          { customer_id: `cus-${String((i % 200) + 1).padStart(6, '0')}` },
          {
            identity,
            requestId: 'r',
            logger,
            signal: noSignal,
            store,
            progress: async () => {},
          },
        ),
      cosmosPeer,
    ),
  );
  const newServer = (validator?: AjvJsonSchemaValidator) => {
    const server = new Server(
      { name: 'x', version: '1' },
      { capabilities: { tools: {} }, ...(validator ? { jsonSchemaValidator: validator } : {}) },
    );
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
    server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [] }));
    return server;
  };
  const perRequest = async (validator?: AjvJsonSchemaValidator) => {
    const server = newServer(validator);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    await transport.close();
    await server.close();
  };
  report(await measureStep('SDK per request: new Server + transport', Math.ceil(ops / 5), 1, () => perRequest()));
  const shared = new AjvJsonSchemaValidator();
  report(
    await measureStep('SDK per request, one shared Ajv validator', Math.ceil(ops / 5), 1, () => perRequest(shared)),
  );

  const out = join(logDir, 'step-costs.json');
  await writeFile(out, `${JSON.stringify({ ops, concurrency, results }, null, 2)}\n`);
  console.log(`\nresults: ${out}`);
  await store.close();
} catch (err) {
  console.error('[step-costs] failed:', err);
  process.exitCode = 1;
} finally {
  redis.disconnect();
  await Promise.allSettled(children.map((c) => c.stop(3_000)));
  killAllChildren();
  await issuer.close();
}

/**
 * What each governance step costs: runs the governed server with single steps switched off
 * (governed-variant-main.ts) next to the full pipeline and the bare SDK server, same load, same
 * shared Cosmos and Redis, and reports server CPU per call (the stable figure on a busy 2-core
 * machine) and throughput per variant, interleaved over rounds.
 *
 *   node test/bench/mcp/ablation.ts
 *
 * CPU per call is compared at the same offered load (open loop, BENCH_RATE calls/s, default 400),
 * since per-call CPU falls as load rises (more work per event-loop turn and syscall); set
 * BENCH_RATE=0 for a closed loop at BENCH_CONCURRENCY instead (throughput per variant).
 *
 * Env: BENCH_TOOL (bench_point_read: one point read, so governance is not drowned by the tool;
 * or query_customer_data), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_ROUNDS (2),
 * BENCH_CONCURRENCY (32), BENCH_RATE (400), BENCH_BUSY_RETRIES (3), BENCH_VARIANTS (comma list of the names below),
 * BENCH_CPU_PROF (comma list of variants run under `node --cpu-prof`; profiles in the log directory), REDIS_URL.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalTestIssuer } from '@mcp-broker/auth/testing';
import { pointReadTool } from './bench-tool.ts';
import { type BenchChild, killAllChildren, spawnChild } from './children.ts';
import { runLoad } from './load.ts';
import { machineBusyMicros } from './machine-cpu.ts';
import { settingsFromEnv } from './mcp-bench.ts';
import { redisCpuMicros } from './redis-cpu.ts';
import { checkToolCall, mcpHeaders, probeToolCall, toolCallBody } from './tool-calls.ts';

const allVariants: Record<string, string | null> = {
  bare: null,
  full: '',
  'no-logs': 'logs',
  'no-audit': 'audit',
  'no-token': 'token',
  'no-token-cache': 'token-cache',
  'no-audit-batch': 'audit-batch',
  // The pipeline as it was before the audit batches and the token cache (issue 14).
  unbatched: 'audit-batch,token-cache',
  'no-ratelimit': 'ratelimit',
  'no-governance': 'logs,audit,token,ratelimit',
};

const RESOURCE = 'api://mcp-broker-bench';
// BENCH_CPU_PROF names variants here, not mcp-bench's targets.
const settings = settingsFromEnv({ BENCH_SECONDS: '10', ...process.env, BENCH_CPU_PROF: '' });
const tool = process.env.BENCH_TOOL ?? pointReadTool.name;
const rate = Number(process.env.BENCH_RATE ?? 400);
const variants = (process.env.BENCH_VARIANTS ?? Object.keys(allVariants).join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const v of variants) if (!(v in allVariants)) throw new Error(`BENCH_VARIANTS: unknown variant "${v}"`);
const profiled = new Set(
  (process.env.BENCH_CPU_PROF ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const v of profiled) if (!variants.includes(v)) throw new Error(`BENCH_CPU_PROF: "${v}" is not in BENCH_VARIANTS`);

const children: BenchChild[] = [];
const stopAll = async () => {
  await Promise.allSettled(children.map((c) => c.stop(3_000)));
  killAllChildren();
};
process.on('exit', killAllChildren);
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

const log = (line: string) => console.log(`[ablation] ${line}`);
const logDir = await mkdtemp(join(tmpdir(), 'mcpb-ablation-'));
const issuer = await startLocalTestIssuer();
try {
  const token = await issuer.sign({
    sub: 'bench-app',
    azp: 'bench-client',
    roles: ['Customers.Read'],
    aud: RESOURCE,
    exp: Math.floor(Date.now() / 1000) + 3600 * 6,
  });
  const databaseId = `bench-${randomUUID().slice(0, 8)}`;
  const cosmos = await spawnChild({
    name: 'cosmos',
    entry: 'cosmos-main.ts',
    env: { BENCH_DATABASE: databaseId, BENCH_CUSTOMERS: String(settings.customers) },
    logDir,
    readyTimeoutMs: 180_000,
  });
  children.push(cosmos);
  const seed = cosmos.info as { endpoint: string; key: string };
  const env = {
    BENCH_COSMOS_ENDPOINT: seed.endpoint,
    BENCH_COSMOS_KEY: seed.key,
    BENCH_DATABASE: databaseId,
    BENCH_LOG_LEVEL: settings.logLevel,
    BENCH_TOOL: tool,
    BENCH_ISSUER: issuer.issuer,
    BENCH_RESOURCE: RESOURCE,
    BENCH_REDIS_URL: settings.redisUrl,
    BENCH_REDIS_PREFIX: `bench:${randomUUID()}:`,
  };
  const servers = new Map<string, BenchChild>();
  for (const v of variants) {
    const ablate = allVariants[v];
    const child = await spawnChild({
      name: v,
      entry: ablate === null ? 'bare-main.ts' : 'governed-variant-main.ts',
      env: { ...env, BENCH_ABLATE: ablate ?? '' },
      logDir,
      ...(profiled.has(v) ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${join(logDir, `prof-${v}`)}`] } : {}),
    });
    children.push(child);
    servers.set(v, child);
  }
  const body = toolCallBody(tool, settings.customers);
  const headersOf = (v: string) => mcpHeaders(v === 'bare' ? undefined : token);
  for (const [v, child] of servers) await probeToolCall(`${child.info.url}/mcp`, headersOf(v), body(0));
  log(
    `tool ${tool}; ${rate > 0 ? `open loop at ${rate} calls/s` : `closed loop, concurrency ${settings.concurrency}`}; ` +
      `variants ${variants.join(', ')}; logs in ${logDir}`,
  );

  const warnings: string[] = [];
  // Machine CPU not used by this benchmark's processes (other work on the machine), microseconds.
  const foreignCpu = async (): Promise<number | undefined> => {
    const machine = machineBusyMicros();
    const redis = await redisCpuMicros(settings.redisUrl);
    if (machine === undefined || redis === undefined) return undefined;
    const own = await Promise.all(children.map((c) => c.call<number>('cpu')));
    const self = process.cpuUsage();
    return machine - redis - self.user - self.system - own.reduce((a, b) => a + b, 0);
  };
  const results: Record<string, { callsPerSecond: number[]; cpuMsPerCall: number[]; p50: number[]; errors: number }> =
    {};
  const measure = async (v: string, child: BenchChild, label: string) => {
    let cpu0 = 0;
    let cpu1 = 0;
    let others0: number | undefined;
    let others1: number | undefined;
    const r = await runLoad({
      url: `${child.info.url}/mcp`,
      headers: headersOf(v),
      concurrency: settings.concurrency,
      ...(rate > 0 ? { rate } : {}),
      warmupMs: settings.warmupSeconds * 1000,
      durationMs: settings.seconds * 1000,
      body,
      check: checkToolCall,
      onWindowStart: async () => {
        cpu0 = await child.call<number>('cpu');
        others0 = await foreignCpu();
      },
      onWindowEnd: async () => {
        cpu1 = await child.call<number>('cpu');
        others1 = await foreignCpu();
      },
    });
    if (v !== 'bare') await child.call('drainAudit', 120_000);
    const cpuMs = (cpu1 - cpu0) / 1000 / r.calls;
    const otherLoad = others0 === undefined || others1 === undefined ? 0 : (others1 - others0) / 1e6 / r.seconds;
    log(
      `${label} ${v.padEnd(13)} ${r.callsPerSecond.toFixed(0).padStart(5)} calls/s  ` +
        `server CPU ${cpuMs.toFixed(3)} ms/call  p50 ${r.latencyMs.p50} ms  errors ${r.errors}` +
        (r.behind ? `  BEHIND ${r.behind} (rate not sustained)` : '') +
        `  other load ${otherLoad.toFixed(2)} cores`,
    );
    return { r, cpuMs, otherLoad };
  };
  for (let round = 1; round <= settings.rounds; round += 1) {
    for (const [v, child] of servers) {
      // Another process busy on the machine skews a window: measure again, a bounded number of times.
      let m = await measure(v, child, `round ${round}`);
      for (let attempt = 2; attempt <= settings.busyRetries + 1 && m.otherLoad > 0.1; attempt += 1) {
        await new Promise((res) => setTimeout(res, 5_000));
        m = await measure(v, child, `round ${round} (attempt ${attempt})`);
      }
      if (m.otherLoad > 0.1) warnings.push(`round ${round} ${v}: other processes used ${m.otherLoad.toFixed(2)} cores`);
      results[v] ??= { callsPerSecond: [], cpuMsPerCall: [], p50: [], errors: 0 };
      const entry = results[v];
      entry.callsPerSecond.push(m.r.callsPerSecond);
      entry.cpuMsPerCall.push(Math.round(m.cpuMs * 1000) / 1000);
      entry.p50.push(m.r.latencyMs.p50);
      entry.errors += m.r.errors + m.r.behind;
      await new Promise((res) => setTimeout(res, 1_000));
    }
  }

  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const full = results.full ? med(results.full.cpuMsPerCall) : Number.NaN;
  console.log(
    '\nvariant        calls/s  server CPU ms/call  Δ vs full  p50 ms  errors   (medians over rounds; errors include calls behind)',
  );
  for (const v of variants) {
    const r = results[v]!;
    const cpu = med(r.cpuMsPerCall);
    console.log(
      `${v.padEnd(13)}  ${med(r.callsPerSecond).toFixed(0).padStart(7)}  ${cpu.toFixed(3).padStart(18)}  ` +
        `${(cpu - full).toFixed(3).padStart(9)}  ${med(r.p50).toFixed(1).padStart(6)}  ${String(r.errors).padStart(6)}`,
    );
  }
  if (warnings.length > 0) console.log(`\nwarnings (figures suspect):\n  - ${warnings.join('\n  - ')}`);
  const out = join(logDir, 'ablation.json');
  await writeFile(out, `${JSON.stringify({ tool, rate, settings, results, warnings }, null, 2)}\n`);
  console.log(`\nresults: ${out}`);
} catch (err) {
  console.error('[ablation] failed:', err);
  process.exitCode = 1;
} finally {
  await stopAll();
  await issuer.close();
}

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bullPrefix, toolCallJobId, toolCallQueueName } from '@mcp-broker/broker';
import { brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';
import { startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { createStore } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { startBenchBackends } from '../broker/bench-backends.ts';
import { deleteKeys } from '../broker/broker-bench.ts';
import { collectCpuProfiles, cpuProfFlags } from '../broker/cpu-profiles.ts';
import { BENCH_RESOURCE, ECHO_PERMISSION, ECHO_TOOL_NAME, echoMessage } from '../broker/echo-tool.ts';
import { errorCounts, type Percentiles, percentiles, runFixedCalls, send } from '../broker/load.ts';
import { cpuSnapshot, phaseCpu } from '../broker/phase-cpu.ts';
import { redisCommandCounts, redisCommandsPerCall } from '../broker/redis-commands.ts';
import { cpuCell, formatTable, phaseCells } from '../broker/report.ts';
import { type BenchChild, spawnChild } from '../mcp/children.ts';
import { type BenchMachine, benchMachine } from '../mcp/machine-cpu.ts';
import {
  INGEST_CHILDREN,
  INGEST_PATHS,
  type IngestBenchSettings,
  type IngestChildName,
  type IngestPathName,
  ingestSettingsFromEnv,
} from './settings.ts';

export const DEFAULT_INGEST_OUT = join(import.meta.dirname, '..', 'results', 'ingest-latest.json');

/** The caller whose records and queue each path writes: ingress's configured caller, and the bare route's. */
const CALLER_OF: Record<IngestPathName, string> = { ingress: 'bench', bare: 'bench-bare' };

const r2 = (x: number) => Math.round(x * 100) / 100;
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface IngestPhase {
  path: IngestPathName;
  round: number;
  /** Submissions answered 202. */
  accepted: number;
  errors: number;
  errorSamples: Record<string, number>;
  notStarted: number;
  seconds: number;
  /** Accepted submissions / wall time (first start to last answer). */
  callsPerSecond: number;
  /** Submission to its 202, as the load generator saw it. */
  latencyMs: Percentiles;
  /** CPU ms per accepted submission, by process (loadGenerator: the runner, with the OAuth server). */
  cpuMsPerCall: Record<IngestChildName | 'redis' | 'loadGenerator', number | null>;
  /** Requests the embedded Cosmos server served and Redis commands processed, per accepted submission. */
  cosmosRequestsPerCall: number | null;
  redisCommandsPerCall: number | null;
  redisByCommand: Record<string, number>;
  busyCores: number | null;
  /** Cores' worth of CPU used by processes outside the benchmark; above ~0.1 the figures are suspect. */
  otherLoadCores: number | null;
  loadAverage: [number, number, number];
}

export interface IngestBenchReport {
  benchmark: 'ingest';
  startedAt: string;
  machine: BenchMachine;
  loadAverage: { start: [number, number, number]; end: [number, number, number] };
  settings: Omit<IngestBenchSettings, 'redisUrl'>;
  phases: IngestPhase[];
  paths: Record<IngestPathName, { best: number; median: number; p50: number; p99: number; errors: number }>;
  ratio: {
    best: number;
    median: number;
    target: number;
    /**
     * Per round, the bare phase's total CPU per call (every process) over the ingress phase's: on
     * shared cores throughput follows CPU per call, so this is the rate ratio other load disturbs least.
     */
    cpuBound: number[];
    cpuBoundMedian: number;
  };
  /** Ingress's rate and p99 (medians of rounds) against the target: ≥ ratio × bare, p99 ≤ targetP99Ms. */
  verdict: { ratioMet: boolean; p99Met: boolean; met: boolean };
  verification: Record<
    IngestPathName,
    {
      /** Submissions answered 202 (probe and warm-up included). */
      accepted: number;
      /** Of them, with a record in the store (status queued) and a waiting job in Redis. */
      recorded: number;
      queued: number;
      /** Records in the store under the path's caller, and waiting jobs in its queue. */
      recordsInStore: number;
      jobsWaiting: number;
      missingRecords: string[];
      missingJobs: string[];
    }
  >;
  profiles: Partial<Record<IngestChildName, { file: string; busyMs: number; byPackage: [string, number][] }>>;
  ok: boolean;
  problems: string[];
  warnings: string[];
  logDir: string;
}

export interface RunIngestBenchOptions {
  settings?: Partial<IngestBenchSettings>;
  /** Every spawned child is pushed here too, so the caller can stop them from a signal handler. */
  children?: BenchChild[];
  log?: (line: string) => void;
  /** Results file; false writes none. Default BENCH_INGEST_OUT, else test/bench/results/ingest-latest.json. */
  out?: string | false;
  signal?: AbortSignal;
}

const loadAverage = () => loadavg().map((x) => r2(x)) as [number, number, number];

/**
 * The ingest benchmark: N submissions of the echo tool to the real ingress with no worker running
 * (so each ends queued: the 202 path alone), against the same submissions to a bare Fastify route
 * that only creates the same record in the same store and adds the same job, at the same
 * concurrency, in one run. Then checks that every accepted submission of either path has its
 * record and its waiting job. Stops every child it started, on every path.
 */
export async function runIngestBench(options: RunIngestBenchOptions = {}): Promise<IngestBenchReport> {
  const settings: IngestBenchSettings = { ...ingestSettingsFromEnv(process.env), ...options.settings };
  const log = options.log ?? ((line: string) => console.log(`[bench:ingest] ${line}`));
  const children: BenchChild[] = [];
  const track = (child: BenchChild) => {
    children.push(child);
    options.children?.push(child);
    return child;
  };
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const logDir = await mkdtemp(join(tmpdir(), 'mcpb-ingest-bench-'));
  const problems: string[] = [];
  const warnings: string[] = [];
  const prefix = `bench-ingest:${randomUUID()}:`;
  const databaseId = `bench-ingest-${randomUUID().slice(0, 8)}`;
  log(`logs and profiles: ${logDir}; Redis key prefix ${prefix}; load average ${loadAtStart.join(' ')}`);

  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  await redis.connect();
  const redisCommands = () => redisCommandCounts(redis);
  const upstreamSecret = randomBytes(24).toString('base64url');
  const password = randomBytes(24).toString('base64url');
  const oauth = await startDevOAuthServer({
    audience: BENCH_RESOURCE,
    clients: [{ clientId: 'bench-ingest-caller', clientSecret: upstreamSecret, roles: [ECHO_PERMISSION] }],
  });
  const agent = new Agent({
    keepAlive: true,
    maxSockets: settings.concurrency,
    maxFreeSockets: settings.concurrency,
  });
  try {
    const prof = (name: IngestChildName) => cpuProfFlags(logDir, settings.cpuProf, name);
    // The MCP server only answers ingress's tools/list (cached a minute): the argument check needs it.
    const { cosmos, mcp, store } = await startBenchBackends({
      databaseId,
      issuer: oauth.issuer,
      redisUrl: settings.redisUrl,
      prefix,
      logLevel: settings.logLevel,
      logDir,
      nodeFlags: prof,
      track,
    });
    const brokerConfig = brokerConfigSchema.parse({
      broker: { keyPrefix: prefix },
      endpoints: { local: { url: `${mcp.info.url as string}/mcp`, callTimeoutMs: 60_000 } },
      callers: [
        {
          id: CALLER_OF.ingress,
          auth: {
            type: 'basic',
            username: CALLER_OF.ingress,
            passwordHash: await hashPassword(password, { N: settings.scryptN, r: 8, p: 1 }),
          },
          upstream: {
            endpoint: 'local',
            credential: {
              type: 'client-credentials',
              tokenUrl: oauth.tokenEndpoint,
              clientId: 'bench-ingest-caller',
              clientSecret: { fromEnv: 'BENCH_UPSTREAM_SECRET' },
              scope: ECHO_PERMISSION,
            },
          },
          tools: [ECHO_TOOL_NAME],
          limits: { concurrency: settings.concurrency, callsPerMinute: 100_000 },
        },
      ],
    });
    const configPath = join(logDir, 'broker.json');
    await writeFile(configPath, JSON.stringify(brokerConfig, null, 2));
    const ingress = track(
      await spawnChild({
        name: 'ingress',
        entry: '../broker/ingress-main.ts',
        env: {
          BROKER_CONFIG: configPath,
          REDIS_URL: settings.redisUrl,
          COSMOS_ENDPOINT: store.endpoint,
          COSMOS_KEY: store.key,
          COSMOS_DATABASE: databaseId,
          LOG_LEVEL: settings.logLevel,
          BENCH_UPSTREAM_SECRET: upstreamSecret,
          HOST: '127.0.0.1',
          PORT: '0',
        },
        logDir,
        nodeFlags: prof('ingress'),
      }),
    );
    const bare = track(
      await spawnChild({
        name: 'bare',
        entry: '../ingest/bare-route-main.ts',
        env: {
          BENCH_COSMOS_ENDPOINT: store.endpoint,
          BENCH_COSMOS_KEY: store.key,
          BENCH_DATABASE: databaseId,
          BENCH_REDIS_URL: settings.redisUrl,
          BENCH_REDIS_PREFIX: prefix,
          BENCH_CALLER: CALLER_OF.bare,
          BENCH_ENDPOINT: 'local',
        },
        logDir,
        nodeFlags: prof('bare'),
      }),
    );
    const procs: Record<IngestChildName, BenchChild> = { ingress, bare, mcp, cosmos };
    log(
      `children: cosmos ${cosmos.pid}, mcp ${mcp.pid}, ingress ${ingress.pid} (${ingress.info.url as string}), ` +
        `bare ${bare.pid} (${bare.info.url as string}); no worker`,
    );

    // ---- Submitters: the same body and a new Idempotency-Key per submission on both paths ----
    const runId = `${process.pid}-${Date.now().toString(36)}`;
    const acceptedIds: Record<IngestPathName, string[]> = { ingress: [], bare: [] };
    const authorization = `Basic ${Buffer.from(`${CALLER_OF.ingress}:${password}`).toString('base64')}`;
    let keys = 0;
    const submitter = (path: IngestPathName) => {
      const url = new URL('/v1/tool-calls', procs[path].info.url as string);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...(path === 'ingress' ? { authorization } : {}),
      };
      return async (message: string): Promise<void> => {
        const answer = await raceTimeout(
          send(
            agent,
            url,
            'POST',
            { ...headers, 'idempotency-key': `ingest-${runId}-${keys++}` },
            JSON.stringify({ tool: ECHO_TOOL_NAME, arguments: { message } }),
          ),
          settings.callTimeoutMs,
        );
        if (answer.status !== 202) throw new Error(`HTTP ${answer.status} ${answer.body.slice(0, 160)}`);
        const { id, status } = JSON.parse(answer.body) as { id: string; status: string };
        if (status !== 'queued') throw new Error(`202 with status ${status}`);
        acceptedIds[path].push(id);
      };
    };
    const submit: Record<IngestPathName, (message: string) => Promise<void>> = {
      ingress: submitter('ingress'),
      bare: submitter('bare'),
    };
    for (const path of INGEST_PATHS) await submit[path](echoMessage(`probe-${path}`, 0));
    log('probe ok: both paths answer 202 queued');

    const cpuOf = () => cpuSnapshot(procs, INGEST_CHILDREN, settings.redisUrl);

    const runPhase = async (path: IngestPathName, round: number): Promise<IngestPhase> => {
      const tag = `${path}-r${round}`;
      const deadline = () => performance.now() + settings.maxPhaseSeconds * 1000;
      const signal = options.signal ? { signal: options.signal } : {};
      if (settings.warmupCalls > 0) {
        await runFixedCalls({
          total: settings.warmupCalls,
          concurrency: settings.concurrency,
          deadline: deadline(),
          ...signal,
          one: (n) => submit[path](echoMessage(`${tag}-warm`, n)),
        });
      }
      const cosmosStart = await cosmos.call<Record<string, number>>('requests');
      const redisStart = await redisCommands();
      const cpuStart = await cpuOf();
      const result = await runFixedCalls({
        total: settings.calls,
        concurrency: settings.concurrency,
        deadline: deadline(),
        ...signal,
        one: (n) => submit[path](echoMessage(tag, n)),
      });
      const cpuEnd = await cpuOf();
      const redisEnd = await redisCommands();
      const cosmosEnd = await cosmos.call<Record<string, number>>('requests');
      const ok = result.samples.filter((s) => s.error === undefined);
      const errorSamples = errorCounts(result.samples);
      const seconds = result.wallMs / 1000;
      const { perCall, busyCores, otherLoadCores } = phaseCpu({
        start: cpuStart,
        end: cpuEnd,
        children: INGEST_CHILDREN,
        calls: ok.length,
        seconds,
        tag,
        warnings,
      });
      const redisPerCall = redisCommandsPerCall(redisStart, redisEnd, ok.length, 10);
      const phase: IngestPhase = {
        path,
        round,
        accepted: ok.length,
        errors: result.samples.length - ok.length,
        errorSamples,
        notStarted: result.notStarted,
        seconds: r2(seconds),
        callsPerSecond: r2(ok.length / seconds),
        latencyMs: percentiles(ok.map((s) => s.t1 - s.t0)),
        cpuMsPerCall: Object.fromEntries(
          [...INGEST_CHILDREN, 'redis', 'loadGenerator'].map((k) => [k, perCall(k)]),
        ) as IngestPhase['cpuMsPerCall'],
        cosmosRequestsPerCall: ok.length > 0 ? r2((sum(cosmosEnd) - sum(cosmosStart)) / ok.length) : null,
        redisCommandsPerCall: redisPerCall.total,
        redisByCommand: redisPerCall.byCommand,
        busyCores,
        otherLoadCores,
        loadAverage: loadAverage(),
      };
      if (phase.errors > 0) problems.push(`${tag}: ${phase.errors} errors: ${JSON.stringify(errorSamples)}`);
      if (phase.notStarted > 0) problems.push(`${tag}: ${phase.notStarted} submissions not started (phase deadline)`);
      log(
        `  ${tag}: ${phase.accepted} accepted in ${phase.seconds} s = ${phase.callsPerSecond}/s, ` +
          `p50 ${phase.latencyMs.p50} ms, p99 ${phase.latencyMs.p99} ms, errors ${phase.errors}, ` +
          `other load ${otherLoadCores ?? '?'} cores`,
      );
      return phase;
    };

    const phases: IngestPhase[] = [];
    for (let round = 1; round <= settings.rounds; round += 1) {
      for (const path of INGEST_PATHS) {
        options.signal?.throwIfAborted();
        log(
          `round ${round}/${settings.rounds} ${path}: ${settings.warmupCalls} warm-up + ${settings.calls} ` +
            `submissions at concurrency ${settings.concurrency}…`,
        );
        phases.push(await runPhase(path, round));
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    options.signal?.throwIfAborted();

    // ---- Verification: every accepted submission has its record (queued) and its waiting job ----
    const reader = await createStore({ endpoint: store.endpoint, key: store.key, databaseId });
    const verification = {} as IngestBenchReport['verification'];
    try {
      for (const path of INGEST_PATHS) {
        const caller = CALLER_OF[path];
        const { resources } = await reader
          .container('toolCalls')
          .items.query<{ id: string; status: string }>(
            {
              query: 'SELECT c.id, c.status FROM c WHERE c.caller = @caller',
              parameters: [{ name: '@caller', value: caller }],
            },
            { partitionKey: caller },
          )
          .fetchAll();
        const queuedRecords = new Set(resources.filter((r) => r.status === 'queued').map((r) => r.id));
        const waiting = new Set(await redis.lrange(`${bullPrefix(prefix)}:${toolCallQueueName(caller)}:wait`, 0, -1));
        const missingRecords = acceptedIds[path].filter((id) => !queuedRecords.has(id));
        const missingJobs = acceptedIds[path].filter((id) => !waiting.has(toolCallJobId(id)));
        verification[path] = {
          accepted: acceptedIds[path].length,
          recorded: acceptedIds[path].length - missingRecords.length,
          queued: acceptedIds[path].length - missingJobs.length,
          recordsInStore: resources.length,
          jobsWaiting: waiting.size,
          missingRecords: missingRecords.slice(0, 10),
          missingJobs: missingJobs.slice(0, 10),
        };
        if (missingRecords.length > 0) {
          problems.push(`${path}: ${missingRecords.length} accepted submissions have no queued record`);
        }
        if (missingJobs.length > 0)
          problems.push(`${path}: ${missingJobs.length} accepted submissions have no waiting job`);
        if (new Set(acceptedIds[path]).size !== acceptedIds[path].length) {
          problems.push(`${path}: the same id was answered for two submissions`);
        }
      }
    } finally {
      await reader.close();
    }

    // ---- Summaries ----
    const paths = {} as IngestBenchReport['paths'];
    for (const path of INGEST_PATHS) {
      const mine = phases.filter((p) => p.path === path);
      paths[path] = {
        best: Math.max(...mine.map((p) => p.callsPerSecond)),
        median: r2(median(mine.map((p) => p.callsPerSecond))),
        p50: r2(median(mine.map((p) => p.latencyMs.p50))),
        p99: r2(median(mine.map((p) => p.latencyMs.p99))),
        errors: mine.reduce((total, p) => total + p.errors, 0),
      };
    }
    const totalCpu = (p: IngestPhase) =>
      Object.values(p.cpuMsPerCall).reduce<number>((a, b) => a + (typeof b === 'number' ? b : 0), 0);
    const cpuBound: number[] = [];
    for (let round = 1; round <= settings.rounds; round += 1) {
      const of = (path: IngestPathName) => phases.find((p) => p.path === path && p.round === round);
      const b = of('bare');
      const i = of('ingress');
      if (b && i && totalCpu(i) > 0) cpuBound.push(r2(totalCpu(b) / totalCpu(i)));
    }
    const ratio = {
      best: r2(paths.ingress.best / paths.bare.best),
      median: r2(paths.ingress.median / paths.bare.median),
      target: settings.targetRatio,
      cpuBound,
      cpuBoundMedian: cpuBound.length > 0 ? r2(median(cpuBound)) : Number.NaN,
    };
    const ratioMet = ratio.median >= settings.targetRatio;
    const p99Met = paths.ingress.p99 <= settings.targetP99Ms;

    // ---- Stop, collect profiles, clean Redis ----
    for (const child of [ingress, bare, mcp, cosmos]) await child.stop();
    const profiles: IngestBenchReport['profiles'] = await collectCpuProfiles(logDir, settings.cpuProf, warnings);
    const keysLeft = await deleteKeys(redis, prefix);
    if (keysLeft > 0) warnings.push(`${keysLeft} Redis keys left under the run's prefix after cleanup`);

    const { redisUrl: _omit, ...publicSettings } = settings;
    const report: IngestBenchReport = {
      benchmark: 'ingest',
      startedAt,
      machine: benchMachine(),
      loadAverage: { start: loadAtStart, end: loadAverage() },
      settings: publicSettings,
      phases,
      paths,
      ratio,
      verdict: { ratioMet, p99Met, met: ratioMet && p99Met },
      verification,
      profiles,
      ok: problems.length === 0,
      problems,
      warnings,
      logDir,
    };
    const out = options.out ?? process.env.BENCH_INGEST_OUT ?? DEFAULT_INGEST_OUT;
    if (out !== false) {
      await mkdir(join(out, '..'), { recursive: true });
      await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    }
    return report;
  } finally {
    agent.destroy();
    await Promise.allSettled(children.map((c) => c.stop(5_000)));
    await oauth.close();
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}

function raceTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function formatIngestReport(report: IngestBenchReport): string {
  const rows: string[][] = [
    [
      'path',
      'round',
      'accepted',
      'per s',
      'p50 ms',
      'p99 ms',
      'errors',
      'CPU ms/call ingress|bare|cosmos|redis|load',
      'Cosmos|Redis per call',
      'other load',
    ],
  ];
  for (const p of report.phases) {
    const c = p.cpuMsPerCall;
    rows.push([
      ...phaseCells(p, p.accepted),
      cpuCell([c.ingress, c.bare, c.cosmos, c.redis, c.loadGenerator]),
      `${p.cosmosRequestsPerCall?.toFixed(1) ?? '?'} | ${p.redisCommandsPerCall?.toFixed(1) ?? '?'}`,
      String(p.otherLoadCores ?? '?'),
    ]);
  }
  const out = [...formatTable(rows), ''];
  for (const [path, s] of Object.entries(report.paths)) {
    out.push(
      `${path.padEnd(8)} median ${s.median.toFixed(0)}/s (best ${s.best.toFixed(0)}/s), p50 ${s.p50} ms, p99 ${s.p99} ms, errors ${s.errors}`,
    );
  }
  const { ratio, verdict, settings } = report;
  out.push(
    `ingress/bare rate: ${ratio.median.toFixed(2)} (medians), ${ratio.best.toFixed(2)} (best phases); target ≥ ${ratio.target}: ` +
      `${verdict.ratioMet ? 'MET' : 'NOT MET'}; ingress p99 ${report.paths.ingress.p99} ms, target ≤ ${settings.targetP99Ms} ms: ` +
      `${verdict.p99Met ? 'MET' : 'NOT MET'}`,
  );
  out.push(
    `total CPU per call, bare over ingress (the rate ratio on shared cores, least disturbed by other load): ` +
      `${ratio.cpuBound.join(', ')} by round, median ${ratio.cpuBoundMedian}`,
  );
  for (const [path, v] of Object.entries(report.verification)) {
    out.push(
      `${path}: ${v.accepted} accepted, ${v.recorded} recorded (queued), ${v.queued} waiting jobs ` +
        `(store holds ${v.recordsInStore} records, the queue ${v.jobsWaiting} waiting jobs)`,
    );
  }
  for (const [name, p] of Object.entries(report.profiles)) {
    out.push(
      `profile ${name} (${(p.busyMs / 1000).toFixed(1)} s busy): ${p.byPackage
        .slice(0, 8)
        .map(([k, share]) => `${k} ${share}%`)
        .join(', ')}`,
    );
  }
  out.push(
    `load average: ${report.loadAverage.start.join(' ')} at the start, ${report.loadAverage.end.join(' ')} at the end`,
  );
  out.push(
    report.ok
      ? 'run: OK (every accepted submission recorded and queued)'
      : `run: HAD PROBLEMS\n  - ${report.problems.join('\n  - ')}`,
  );
  if (report.warnings.length > 0) out.push(`warnings:\n  - ${report.warnings.join('\n  - ')}`);
  return out.join('\n');
}

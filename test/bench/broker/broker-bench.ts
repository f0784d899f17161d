import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';
import { startDevOAuthServer } from '@mcp-broker/dev-oauth';
import { createTokenProvider, McpClientPool } from '@mcp-broker/mcp-client';
import { Redis } from 'ioredis';
import { type BenchChild, spawnChild } from '../mcp/children.ts';
import { benchMachine } from '../mcp/machine-cpu.ts';
import { startBenchBackends } from './bench-backends.ts';
import { collectCpuProfiles, cpuProfFlags } from './cpu-profiles.ts';
import { BENCH_RESOURCE, ECHO_PERMISSION, ECHO_TOOL_NAME, echoMessage } from './echo-tool.ts';
import {
  type BrokerCallValue,
  brokerCaller,
  CallbackReceiver,
  errorCounts,
  perCallSessionCaller,
  percentiles,
  pooledCaller,
  runFixedCalls,
} from './load.ts';
import { cpuSnapshot, phaseCpu } from './phase-cpu.ts';
import { redisCommandCounts, redisCommandsPerCall } from './redis-commands.ts';
import {
  type BrokerBenchReport,
  formatBrokerReport,
  type PathSummary,
  type PhaseResult,
  type WorkerCheckpoint,
  writeBrokerReport,
} from './report.ts';
import {
  type BrokerBenchSettings,
  type BrokerPathName,
  brokerSettingsFromEnv,
  CHILD_NAMES,
  type ChildName,
  callsOn,
  checkSettings,
  isBrokerPath,
  LIGHT_SCRYPT_N,
  MIN_CALLS_FOR_FLATNESS,
  type PathName,
} from './settings.ts';

export type { BrokerBenchReport } from './report.ts';
export { type BrokerBenchSettings, brokerSettingsFromEnv } from './settings.ts';
export { formatBrokerReport, writeBrokerReport };

export interface RunBrokerBenchOptions {
  /** Overrides of the settings read from the environment (`brokerSettingsFromEnv`). */
  settings?: Partial<BrokerBenchSettings>;
  /** Every spawned child is pushed here too, so the caller can stop them from a signal handler. */
  children?: BenchChild[];
  log?: (line: string) => void;
  /** Results file; false writes none. Default BENCH_BROKER_OUT, else test/bench/results/broker-latest.json. */
  out?: string | false;
  /**
   * Aborting stops the run early: no new calls start, calls waiting for a callback fail, then the
   * children are stopped and the run's Redis keys deleted as on any other path, and the promise
   * rejects (no results file is written).
   */
  signal?: AbortSignal;
}

export const DEFAULT_BROKER_OUT = join(import.meta.dirname, '..', 'results', 'broker-latest.json');

const MiB = 1024 * 1024;
const r2 = (x: number) => Math.round(x * 100) / 100;
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
/** Broker callers: `bench` for the `broker` path, `bench-light` for `broker-light-auth`. */
const CALLER_OF: Record<BrokerPathName, string> = { broker: 'bench', 'broker-light-auth': 'bench-light' };

/**
 * The broker benchmark: N echo calls submitted through the async API and processed end to end by
 * the worker, against the same calls made directly with the broker's pooled MCP clients and with a
 * session per call, all at the same concurrency against the same governed MCP server. Ingress,
 * worker, MCP server and embedded Cosmos each run in their own child process; Redis is shared
 * (a unique key prefix, deleted afterwards). Stops every child it started, on every path.
 */
export async function runBrokerBench(options: RunBrokerBenchOptions = {}): Promise<BrokerBenchReport> {
  const settings: BrokerBenchSettings = { ...brokerSettingsFromEnv(process.env), ...options.settings };
  checkSettings(settings);
  const log = options.log ?? ((line: string) => console.log(`[bench:broker] ${line}`));
  const children: BenchChild[] = [];
  const track = (child: BenchChild) => {
    children.push(child);
    options.children?.push(child);
    return child;
  };
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const logDir = await mkdtemp(join(tmpdir(), 'mcpb-broker-bench-'));
  const problems: string[] = [];
  const warnings: string[] = [];
  const prefix = `bench-broker:${randomUUID()}:`;
  const databaseId = `bench-broker-${randomUUID().slice(0, 8)}`;
  log(`logs and profiles: ${logDir}; Redis key prefix ${prefix}`);

  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  await redis.connect();
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);
  const redisCommands = () => redisCommandCounts(redis);
  const redisBefore = await usedMemory();

  const secrets = { upstream: randomBytes(24).toString('base64url'), callback: randomBytes(24).toString('base64url') };
  const passwords = {
    bench: randomBytes(24).toString('base64url'),
    'bench-light': randomBytes(24).toString('base64url'),
  };
  const oauth = await startDevOAuthServer({
    audience: BENCH_RESOURCE,
    clients: [{ clientId: 'bench-broker-caller', clientSecret: secrets.upstream, roles: [ECHO_PERMISSION] }],
  });
  const receiver = await CallbackReceiver.start(secrets.callback);
  const onAbort = () => receiver.cancelAll('the benchmark was stopped');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let sampler: NodeJS.Timeout | undefined;
  let pool: McpClientPool | undefined;
  const brokerClients: ReturnType<typeof brokerCaller>[] = [];
  try {
    const prof = (name: ChildName) => cpuProfFlags(logDir, settings.cpuProf, name);
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
    const mcpUrl = `${mcp.info.url as string}/mcp`;

    // Both broker callers and the direct paths use the same upstream identity (one OAuth client).
    const credential = {
      type: 'client-credentials' as const,
      tokenUrl: oauth.tokenEndpoint,
      clientId: 'bench-broker-caller',
      clientSecret: { fromEnv: 'BENCH_UPSTREAM_SECRET' },
      scope: ECHO_PERMISSION,
    };
    const endpoint = { url: mcpUrl, callTimeoutMs: 60_000 };
    const caller = async (id: 'bench' | 'bench-light', scryptN: number) => ({
      id,
      auth: {
        type: 'basic',
        username: id,
        passwordHash: await hashPassword(passwords[id], { N: scryptN, r: 8, p: 1 }),
      },
      upstream: { endpoint: 'local', credential },
      tools: [ECHO_TOOL_NAME],
      // The caller's limits must not be what limits the benchmark: as many calls at once as the load has in flight.
      limits: { concurrency: settings.concurrency, callsPerMinute: 100_000 },
      callbackHosts: [receiver.host],
      allowPrivateCallbacks: true,
      callbackSigningSecret: { fromEnv: 'BENCH_CALLBACK_SECRET' },
    });
    const brokerConfig = brokerConfigSchema.parse({
      broker: {
        keyPrefix: prefix,
        ...(settings.runningWriteAfterMs === undefined ? {} : { runningWriteAfterMs: settings.runningWriteAfterMs }),
      },
      endpoints: { local: endpoint },
      callers: [await caller('bench', settings.scryptN), await caller('bench-light', LIGHT_SCRYPT_N)],
    });
    const configPath = join(logDir, 'broker.json');
    await writeFile(configPath, JSON.stringify(brokerConfig, null, 2));
    const serviceEnv = {
      BROKER_CONFIG: configPath,
      REDIS_URL: settings.redisUrl,
      COSMOS_ENDPOINT: store.endpoint,
      COSMOS_KEY: store.key,
      COSMOS_DATABASE: databaseId,
      LOG_LEVEL: settings.logLevel,
      BENCH_UPSTREAM_SECRET: secrets.upstream,
      BENCH_CALLBACK_SECRET: secrets.callback,
    };
    const ingress = track(
      await spawnChild({
        name: 'ingress',
        entry: '../broker/ingress-main.ts',
        env: { ...serviceEnv, HOST: '127.0.0.1', PORT: '0' },
        logDir,
        nodeFlags: prof('ingress'),
      }),
    );
    const worker = track(
      await spawnChild({
        name: 'worker',
        entry: '../broker/worker-main.ts',
        // The pool as large as the concurrency, as for the direct path: one session per call in flight.
        env: { ...serviceEnv, MCP_POOL_SIZE: String(settings.concurrency) },
        logDir,
        nodeFlags: ['--expose-gc', ...prof('worker')],
      }),
    );
    const procs: Record<ChildName, BenchChild> = { worker, ingress, mcp, cosmos };
    log(
      `children: cosmos ${cosmos.pid}, mcp ${mcp.pid}, ingress ${ingress.pid}, worker ${worker.pid}; ` +
        `MCP ${mcpUrl}, ingress ${ingress.info.url as string}`,
    );

    // Worker RSS (and calls completed, any path) every second, for the whole run.
    let phaseName = 'start';
    let completed = 0;
    let completedAtLastSample = 0;
    const series: BrokerBenchReport['memory']['worker']['series'] = [];
    sampler = setInterval(() => {
      const calls = completed - completedAtLastSample;
      completedAtLastSample = completed;
      const phase = phaseName;
      worker.call<NodeJS.MemoryUsage>('memory', 5_000).then(
        (m) => series.push({ t: r2((performance.now() - t0) / 1000), phase, rssMiB: r2(m.rss / MiB), calls }),
        () => {},
      );
    }, 1_000);

    const tokens = createTokenProvider(credential, { env: { BENCH_UPSTREAM_SECRET: secrets.upstream } });
    pool = new McpClientPool({
      env: {},
      maxPerKey: settings.concurrency,
      resolve: () => ({
        endpoint: { ...endpoint, transport: 'streamable-http', connectTimeoutMs: 10_000 },
        tokenProvider: tokens,
      }),
    });
    const viaBroker = (path: BrokerPathName) => {
      const id = CALLER_OF[path] as keyof typeof passwords;
      const client = brokerCaller({
        ingressUrl: ingress.info.url as string,
        authorization: `Basic ${Buffer.from(`${id}:${passwords[id]}`).toString('base64')}`,
        concurrency: settings.concurrency,
        completion: settings.completion,
        receiver,
        callTimeoutMs: settings.callTimeoutMs,
      });
      brokerClients.push(client);
      return client.call;
    };
    const callers: Record<PathName, (message: string) => Promise<unknown>> = {
      'direct-pooled': pooledCaller(pool, { caller: 'bench', endpoint: 'local' }),
      'direct-per-call': perCallSessionCaller(mcpUrl, tokens),
      broker: viaBroker('broker'),
      'broker-light-auth': viaBroker('broker-light-auth'),
    };

    // Each path must work before anything is timed.
    for (const path of settings.paths) {
      await callers[path](echoMessage(`probe-${path}`, 0));
    }
    log(`probe ok: ${settings.paths.join(', ')} return the echoed message`);

    const cpuOf = () => cpuSnapshot(procs, CHILD_NAMES, settings.redisUrl);

    const runPhase = async (path: PathName, round: number): Promise<PhaseResult> => {
      const total = callsOn(settings, path);
      const call = callers[path];
      const tag = `${path}-r${round}`;
      phaseName = `${tag} warm-up`;
      if (settings.warmupCalls > 0) {
        await runFixedCalls({
          total: settings.warmupCalls,
          concurrency: settings.concurrency,
          deadline: performance.now() + settings.maxPhaseSeconds * 1000,
          ...(options.signal ? { signal: options.signal } : {}),
          one: (n) => call(echoMessage(`${tag}-warm`, n)),
        });
      }
      phaseName = tag;
      const rssStart = (await worker.call<NodeJS.MemoryUsage>('memory')).rss;
      const seriesFrom = series.length;
      const checkpoints: Promise<WorkerCheckpoint>[] = [];
      const marks = isBrokerPath(path) ? [10, 50].map((p) => ({ p, at: Math.ceil((p / 100) * total) })) : [];
      const checkpoint = (percent: number, calls: number) =>
        worker
          .call<{ before: NodeJS.MemoryUsage; afterGc?: NodeJS.MemoryUsage }>('checkpoint', 30_000)
          .then(({ before, afterGc }) => ({
            path: path as BrokerPathName,
            round,
            percent,
            calls,
            rssMiB: r2(before.rss / MiB),
            heapUsedMiB: r2(before.heapUsed / MiB),
            heapAfterGcMiB: afterGc ? r2(afterGc.heapUsed / MiB) : null,
          }));
      await Promise.all(CHILD_NAMES.map((n) => procs[n].call('eventLoop')));
      const cosmosStart = await cosmos.call<Record<string, number>>('requests');
      const redisStart = await redisCommands();
      const cpuStart = await cpuOf();
      const result = await runFixedCalls({
        total,
        concurrency: settings.concurrency,
        deadline: performance.now() + settings.maxPhaseSeconds * 1000,
        ...(options.signal ? { signal: options.signal } : {}),
        one: (n) => call(echoMessage(tag, n)),
        onDone: (finished) => {
          completed += 1;
          const mark = marks.find((m) => m.at === finished);
          if (mark) checkpoints.push(checkpoint(mark.p, finished));
        },
      });
      const cpuEnd = await cpuOf();
      const redisEnd = await redisCommands();
      const cosmosEnd = await cosmos.call<Record<string, number>>('requests');
      const loops = await Promise.all(CHILD_NAMES.map((n) => procs[n].call<{ max: number }>('eventLoop')));
      if (isBrokerPath(path)) {
        checkpoints.push(checkpoint(100, result.samples.length));
      }
      const rssEnd = (await worker.call<NodeJS.MemoryUsage>('memory')).rss;

      const ok = result.samples.filter((s) => s.error === undefined);
      const errorSamples = errorCounts(result.samples);
      const seconds = result.wallMs / 1000;
      const { perCall, busyCores, otherLoadCores } = phaseCpu({
        start: cpuStart,
        end: cpuEnd,
        children: CHILD_NAMES,
        calls: ok.length,
        seconds,
        tag,
        warnings,
      });
      const redisPerCall = redisCommandsPerCall(redisStart, redisEnd, ok.length, 12);
      const phaseSeries = series.slice(seriesFrom).map((s) => s.rssMiB * MiB);
      const phase: PhaseResult = {
        path,
        round,
        calls: ok.length,
        errors: result.samples.length - ok.length,
        errorSamples,
        notStarted: result.notStarted,
        seconds: r2(seconds),
        callsPerSecond: r2(ok.length / seconds),
        latencyMs: percentiles(ok.map((s) => s.t1 - s.t0)),
        roundTripsPerCall: {
          cosmos:
            ok.length > 0
              ? Object.fromEntries(
                  [...Object.keys(cosmosEnd), 'total'].map((m) => [
                    m,
                    r2(
                      m === 'total'
                        ? (sum(cosmosEnd) - sum(cosmosStart)) / ok.length
                        : ((cosmosEnd[m] ?? 0) - (cosmosStart[m] ?? 0)) / ok.length,
                    ),
                  ]),
                )
              : null,
          redisCommands: redisPerCall.total,
          redisByCommand: redisPerCall.byCommand,
        },
        cpuMsPerCall: {
          worker: perCall('worker'),
          ingress: perCall('ingress'),
          mcp: perCall('mcp'),
          cosmos: perCall('cosmos'),
          redis: perCall('redis'),
          loadGenerator: perCall('loadGenerator'),
        },
        busyCores,
        otherLoadCores,
        eventLoopMaxMs: Object.fromEntries(CHILD_NAMES.map((n, i) => [n, r2(loops[i]!.max)])) as Record<
          ChildName,
          number
        >,
        workerRssMiB: {
          start: r2(rssStart / MiB),
          max: r2(Math.max(rssStart, rssEnd, ...phaseSeries) / MiB),
          end: r2(rssEnd / MiB),
        },
      };
      if (isBrokerPath(path)) {
        const values = ok.map((s) => s.value as BrokerCallValue);
        const recorded = values.filter((v) => v.completedEpoch !== undefined);
        phase.broker = {
          acceptMs: percentiles(ok.map((s) => (s.value as BrokerCallValue).accepted - s.t0)),
          recordCompletionMs:
            recorded.length === 0 ? null : percentiles(recorded.map((v) => v.completedEpoch! - v.submittedEpoch)),
          // The echo handler has no I/O; its own time is microseconds, so it is taken as 0.
          addedLatencyMs: { p50: phase.latencyMs.p50, p99: phase.latencyMs.p99 },
        };
        phase.checkpoints = await Promise.all(checkpoints);
      }
      if (phase.errors > 0) problems.push(`${tag}: ${phase.errors} errors: ${JSON.stringify(errorSamples)}`);
      if (phase.notStarted > 0) problems.push(`${tag}: ${phase.notStarted} calls not started (phase deadline)`);
      log(
        `  ${tag}: ${phase.calls} calls in ${phase.seconds} s = ${phase.callsPerSecond} calls/s, ` +
          `p50 ${phase.latencyMs.p50} ms, p99 ${phase.latencyMs.p99} ms, errors ${phase.errors}, ` +
          `worker RSS ${phase.workerRssMiB.start}→${phase.workerRssMiB.end} MiB, busy ${busyCores ?? '?'} cores, ` +
          `other load ${otherLoadCores ?? '?'} cores`,
      );
      return phase;
    };

    const phases: PhaseResult[] = [];
    for (let round = 1; round <= settings.rounds; round += 1) {
      for (const path of settings.paths) {
        options.signal?.throwIfAborted();
        log(
          `round ${round}/${settings.rounds} ${path}: ${settings.warmupCalls} warm-up + ${callsOn(settings, path)} ` +
            `calls at concurrency ${settings.concurrency}…`,
        );
        phases.push(await runPhase(path, round));
        // A short pause so the next phase starts on a quiet machine (write-backs and audit writes land).
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    options.signal?.throwIfAborted();
    clearInterval(sampler);
    sampler = undefined;

    // ---- Verification and memory ----
    const auditDrainMs = await mcp.call<number>('drainAudit', 120_000);
    const records = await cosmos.call<Record<string, number>>('toolCallStatuses', 300_000);
    const brokerSubmitted = brokerClients.reduce((total, client) => total + client.accepted(), 0);
    if ((records.succeeded ?? 0) !== brokerSubmitted || Object.keys(records).some((s) => s !== 'succeeded')) {
      problems.push(`records: ${JSON.stringify(records)} for ${brokerSubmitted} accepted broker calls`);
    }
    if (receiver.duplicates > 0) problems.push(`${receiver.duplicates} duplicate callbacks`);
    if (receiver.badSignatures > 0) problems.push(`${receiver.badSignatures} callbacks with a bad signature`);
    const workerPool = await worker.call<Record<string, number>>('poolStats');
    const endRssMiB = Object.fromEntries(
      await Promise.all(
        CHILD_NAMES.map(async (n) => [n, r2((await procs[n].call<NodeJS.MemoryUsage>('memory')).rss / MiB)] as const),
      ),
    ) as Record<ChildName, number>;
    const redisAfterBroker = await usedMemory();

    // ---- Summaries ----
    const paths: Partial<Record<PathName, PathSummary>> = {};
    for (const path of settings.paths) {
      const mine = phases.filter((p) => p.path === path);
      const best = mine.reduce((a, b) => (b.callsPerSecond > a.callsPerSecond ? b : a));
      paths[path] = {
        best: { callsPerSecond: best.callsPerSecond, p50: best.latencyMs.p50, p99: best.latencyMs.p99 },
        median: {
          callsPerSecond: r2(median(mine.map((p) => p.callsPerSecond))),
          p50: r2(median(mine.map((p) => p.latencyMs.p50))),
          p99: r2(median(mine.map((p) => p.latencyMs.p99))),
        },
        errors: mine.reduce((total, p) => total + p.errors, 0),
      };
    }
    const direct = paths['direct-pooled']!;
    const brokerPaths = settings.paths.filter(isBrokerPath);
    const byPath: BrokerBenchReport['ratio']['byPath'] = {};
    const brokerMinusDirectMs: BrokerBenchReport['brokerMinusDirectMs'] = {};
    for (const path of brokerPaths) {
      const s = paths[path]!;
      byPath[path] = {
        best: r2(s.best.callsPerSecond / direct.best.callsPerSecond),
        median: r2(s.median.callsPerSecond / direct.median.callsPerSecond),
      };
      brokerMinusDirectMs[path] = {
        p50: r2(s.median.p50 - direct.median.p50),
        p99: r2(s.median.p99 - direct.median.p99),
      };
    }
    const headlinePath: BrokerPathName = brokerPaths.includes('broker') ? 'broker' : 'broker-light-auth';
    const perCall = paths['direct-per-call'];

    const checkpoints = phases.flatMap((p) => p.checkpoints ?? []);
    const longest = phases
      .filter((p) => p.checkpoints)
      .reduce<PhaseResult | undefined>((a, b) => (a && a.calls > b.calls ? a : b), undefined);
    const growth = (a: number | null | undefined, b: number | null | undefined) =>
      a == null || b == null ? null : Math.round(((b - a) / a) * 10_000) / 10_000;
    const at = (percent: number) => longest?.checkpoints?.find((c) => c.percent === percent);
    const rssGrowth = growth(at(10)?.rssMiB, at(100)?.rssMiB);
    const flatness = longest
      ? {
          path: longest.path as BrokerPathName,
          round: longest.round,
          calls: longest.calls,
          rssGrowth,
          heapAfterGcGrowth: growth(at(10)?.heapAfterGcMiB, at(100)?.heapAfterGcMiB),
          flat:
            rssGrowth === null || longest.calls < MIN_CALLS_FOR_FLATNESS ? null : rssGrowth <= settings.rssGrowthLimit,
        }
      : null;

    // ---- Stop, collect profiles, clean Redis ----
    await worker.stop();
    await ingress.stop();
    await mcp.stop();
    await cosmos.stop();
    const profiles: BrokerBenchReport['profiles'] = await collectCpuProfiles(logDir, settings.cpuProf, warnings);
    const keysLeft = await deleteKeys(redis, prefix);
    const redisAfterCleanup = await usedMemory();

    const { redisUrl: _omit, ...publicSettings } = settings;
    const report: BrokerBenchReport = {
      benchmark: 'broker',
      startedAt,
      machine: benchMachine(),
      settings: publicSettings,
      tool: ECHO_TOOL_NAME,
      phases,
      paths,
      ratio: {
        target: settings.targetRatio,
        headlinePath,
        best: byPath[headlinePath]!.best,
        median: byPath[headlinePath]!.median,
        meetsTarget: byPath[headlinePath]!.best >= settings.targetRatio,
        byPath,
        poolOverPerCall: perCall ? r2(direct.median.callsPerSecond / perCall.median.callsPerSecond) : null,
      },
      brokerMinusDirectMs,
      memory: {
        worker: { checkpoints, flatness, series },
        redis: {
          usedMemoryMiB: {
            before: r2(redisBefore / MiB),
            afterBroker: r2(redisAfterBroker / MiB),
            afterCleanup: r2(redisAfterCleanup / MiB),
          },
          keysLeft,
        },
        endRssMiB,
      },
      verification: {
        brokerCallsSubmitted: brokerSubmitted,
        records,
        callbacks: {
          received: receiver.received,
          duplicates: receiver.duplicates,
          badSignatures: receiver.badSignatures,
          timedOut: receiver.timedOut,
        },
        workerPool,
        auditDrainMs: r2(auditDrainMs),
      },
      profiles,
      ok: problems.length === 0,
      problems,
      warnings,
      logDir,
    };
    const out = options.out ?? process.env.BENCH_BROKER_OUT ?? DEFAULT_BROKER_OUT;
    if (out !== false) await writeBrokerReport(report, out);
    return report;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (sampler) clearInterval(sampler);
    for (const client of brokerClients) client.close();
    await pool?.close();
    await Promise.allSettled(children.map((c) => c.stop(5_000)));
    await receiver.close();
    await oauth.close();
    // After a failed run the keys are still there: delete them on every path.
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}

/** Deletes every key under the run's prefix; returns how many are left (0 unless something still writes). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let left = 0;
  for (const pass of ['delete', 'count'] as const) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (pass === 'delete' && keys.length) await redis.unlink(...keys);
      if (pass === 'count') left += keys.length;
      cursor = next;
    } while (cursor !== '0');
  }
  return left;
}

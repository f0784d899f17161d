import { envNumber } from '../env-number.ts';

/**
 * The ways the same echo calls are made:
 * - `direct-pooled`: the broker's own pooled-client code (`McpClientPool` + `callTool`), no broker;
 * - `direct-per-call`: a new SDK client session per call (connect, call, close);
 * - `broker`: submitted to ingress (`POST /v1/tool-calls`, Basic auth with a password hash made with
 *   the documented default cost) and processed end to end by the worker;
 * - `broker-light-auth` (not run by default): the same through a second caller whose password hash
 *   is nearly free (scrypt N=2). Since ingress remembers successful Basic checks, both broker paths
 *   pay the hash once; this one shows that the hash is no longer part of the per-call cost.
 */
export const PATHS = ['direct-pooled', 'direct-per-call', 'broker', 'broker-light-auth'] as const;
export type PathName = (typeof PATHS)[number];
const DEFAULT_PATHS: readonly PathName[] = ['direct-pooled', 'direct-per-call', 'broker'];
export type BrokerPathName = Extract<PathName, `broker${string}`>;
export const isBrokerPath = (path: PathName): path is BrokerPathName => path.startsWith('broker');

/** The benchmark's child processes (the load generator, callback receiver and OAuth server are the parent). */
export const CHILD_NAMES = ['worker', 'ingress', 'mcp', 'cosmos'] as const;
export type ChildName = (typeof CHILD_NAMES)[number];

/**
 * Fewer calls than this in a broker phase give no flatness verdict: the worker's RSS rises over the
 * first ~10,000 calls while V8 sizes its heap, then levels off (see docs/benchmarks.md).
 */
export const MIN_CALLS_FOR_FLATNESS = 20_000;

/** scrypt N of the `broker-light-auth` caller's password hash: verification costs microseconds. */
export const LIGHT_SCRYPT_N = 2;

export interface BrokerBenchSettings {
  /**
   * Paths to run, in this order each round (BENCH_BROKER_PATHS, a comma list or `all`; default
   * direct-pooled, direct-per-call, broker; `direct-pooled` and a broker path are required).
   */
  paths: PathName[];
  /** Calls per broker path and round (BENCH_BROKER_CALLS). */
  calls: number;
  /** Calls in flight on every path (BENCH_BROKER_CONCURRENCY). */
  concurrency: number;
  /** Calls per path and round before the measured ones, not counted (BENCH_BROKER_WARMUP_CALLS). */
  warmupCalls: number;
  rounds: number;
  /** Direct calls per round with pooled clients (default: `calls`, at most 20,000). */
  directCalls: number;
  /** Direct calls per round with a session each (default: `calls`, at most 5,000). */
  perCallCalls: number;
  /** How the load generator learns that a broker call completed. */
  completion: 'callback' | 'wait';
  /** scrypt N of the `broker` caller's password hash (16384: `hashPassword`'s default, as in docs/configuration.md). */
  scryptN: number;
  logLevel: string;
  redisUrl: string;
  targetRatio: number;
  /** A call not completed after this long counts as an error (BENCH_BROKER_CALL_TIMEOUT_MS). */
  callTimeoutMs: number;
  /** No call of a phase starts after this many seconds (BENCH_BROKER_MAX_PHASE_SECONDS). */
  maxPhaseSeconds: number;
  /** Worker RSS may grow by at most this fraction from the 10 % to the 100 % checkpoint to count as flat. */
  rssGrowthLimit: number;
  /** Children to run under `node --cpu-prof` (profiles land in the log directory and are summarised). */
  cpuProf: ChildName[];
  /** `broker.runningWriteAfterMs` of the run (0: `running` written before every call, as before issue 14); unset: the default. */
  runningWriteAfterMs: number | undefined;
}

export function brokerSettingsFromEnv(env: NodeJS.ProcessEnv): BrokerBenchSettings {
  const num = (name: string, fallback: number, min: number) => envNumber(env, name, fallback, min);
  const list = (name: string, all: readonly string[]) =>
    (env[name] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .flatMap((s) => (s === 'all' ? [...all] : [s]))
      .map((s) => {
        if (!all.includes(s)) throw new Error(`${name}: unknown "${s}"; known: ${all.join(', ')}`);
        return s;
      });
  const calls = Math.round(num('BENCH_BROKER_CALLS', 3_000, 1));
  const completion = env.BENCH_BROKER_COMPLETION ?? 'callback';
  if (completion !== 'callback' && completion !== 'wait') {
    throw new Error(`BENCH_BROKER_COMPLETION must be callback or wait, got "${completion}"`);
  }
  const scryptN = Math.round(num('BENCH_BROKER_SCRYPT_N', 16_384, 2));
  if ((scryptN & (scryptN - 1)) !== 0) throw new Error('BENCH_BROKER_SCRYPT_N must be a power of two');
  const paths = list('BENCH_BROKER_PATHS', PATHS) as PathName[];
  return {
    paths: paths.length > 0 ? PATHS.filter((p) => paths.includes(p)) : [...DEFAULT_PATHS],
    calls,
    concurrency: Math.round(num('BENCH_BROKER_CONCURRENCY', 32, 1)),
    warmupCalls: Math.round(num('BENCH_BROKER_WARMUP_CALLS', 200, 0)),
    rounds: Math.round(num('BENCH_BROKER_ROUNDS', 1, 1)),
    directCalls: Math.round(num('BENCH_BROKER_DIRECT_CALLS', Math.min(calls, 20_000), 1)),
    perCallCalls: Math.round(num('BENCH_BROKER_PER_CALL_CALLS', Math.min(calls, 5_000), 1)),
    completion,
    scryptN,
    logLevel: env.BENCH_LOG_LEVEL ?? 'info',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    targetRatio: num('BENCH_BROKER_TARGET_RATIO', 0.45, 0),
    callTimeoutMs: Math.round(num('BENCH_BROKER_CALL_TIMEOUT_MS', 60_000, 1_000)),
    maxPhaseSeconds: num('BENCH_BROKER_MAX_PHASE_SECONDS', 1_200, 1),
    rssGrowthLimit: num('BENCH_BROKER_RSS_GROWTH_LIMIT', 0.1, 0),
    cpuProf: list('BENCH_BROKER_CPU_PROF', CHILD_NAMES) as ChildName[],
    runningWriteAfterMs: env.BENCH_BROKER_RUNNING_WRITE_AFTER_MS
      ? Math.round(num('BENCH_BROKER_RUNNING_WRITE_AFTER_MS', 0, 0))
      : undefined,
  };
}

/** Throws unless the settings can produce a ratio. */
export function checkSettings(settings: BrokerBenchSettings): void {
  if (!settings.paths.includes('direct-pooled')) throw new Error('BENCH_BROKER_PATHS must include direct-pooled');
  if (!settings.paths.some(isBrokerPath)) throw new Error('BENCH_BROKER_PATHS must include a broker path');
}

/** Calls per round on a path. */
export function callsOn(settings: BrokerBenchSettings, path: PathName): number {
  if (isBrokerPath(path)) return settings.calls;
  return path === 'direct-pooled' ? settings.directCalls : settings.perCallCalls;
}

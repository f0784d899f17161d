import { envNumber } from '../env-number.ts';

/**
 * The two ways the same submissions are made, one after the other each round:
 * - `bare`: a bare Fastify route that only creates the record and adds the job (the baseline);
 * - `ingress`: the real ingress (`POST /v1/tool-calls`, Basic auth, validation against the
 *   endpoint's tool list, the idempotency lock, the request log), with no worker running.
 */
export const INGEST_PATHS = ['bare', 'ingress'] as const;
export type IngestPathName = (typeof INGEST_PATHS)[number];

/** The benchmark's child processes (the load generator and the OAuth server are the parent). */
export const INGEST_CHILDREN = ['ingress', 'bare', 'mcp', 'cosmos'] as const;
export type IngestChildName = (typeof INGEST_CHILDREN)[number];

export interface IngestBenchSettings {
  /** Submissions per path and round (BENCH_INGEST_CALLS, default 3000). */
  calls: number;
  /** Submissions in flight (BENCH_INGEST_CONCURRENCY, default 32). */
  concurrency: number;
  /** Unmeasured submissions per path and round before the measured ones (BENCH_INGEST_WARMUP_CALLS, default 200). */
  warmupCalls: number;
  /** BENCH_INGEST_ROUNDS, default 1. */
  rounds: number;
  /** scrypt N of the caller's password hash (BENCH_INGEST_SCRYPT_N, default 16384, the documented default). */
  scryptN: number;
  /** Ingress's rate over the bare route's that the target asks for (BENCH_INGEST_TARGET_RATIO, default 0.6). */
  targetRatio: number;
  /** Ingress's p99 submission latency that the target allows, in ms (BENCH_INGEST_TARGET_P99_MS, default 25). */
  targetP99Ms: number;
  /** A submission not answered after this long counts as an error (BENCH_INGEST_CALL_TIMEOUT_MS, default 30000). */
  callTimeoutMs: number;
  /** No submission of a phase starts after this many seconds (BENCH_INGEST_MAX_PHASE_SECONDS, default 600). */
  maxPhaseSeconds: number;
  /** Children run under `node --cpu-prof` (BENCH_INGEST_CPU_PROF, a comma list or `all`). */
  cpuProf: IngestChildName[];
  /** BENCH_LOG_LEVEL (info, as in production). */
  logLevel: string;
  redisUrl: string;
}

export function ingestSettingsFromEnv(env: NodeJS.ProcessEnv): IngestBenchSettings {
  const num = (name: string, fallback: number, min: number) => Math.round(envNumber(env, name, fallback, min));
  const cpuProf = (env.BENCH_INGEST_CPU_PROF ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((s) => (s === 'all' ? [...INGEST_CHILDREN] : [s]))
    .map((s) => {
      if (!(INGEST_CHILDREN as readonly string[]).includes(s)) {
        throw new Error(`BENCH_INGEST_CPU_PROF: unknown "${s}"; known: ${INGEST_CHILDREN.join(', ')}, all`);
      }
      return s as IngestChildName;
    });
  const scryptN = num('BENCH_INGEST_SCRYPT_N', 16_384, 2);
  if ((scryptN & (scryptN - 1)) !== 0) throw new Error('BENCH_INGEST_SCRYPT_N must be a power of two');
  return {
    calls: num('BENCH_INGEST_CALLS', 3_000, 1),
    concurrency: num('BENCH_INGEST_CONCURRENCY', 32, 1),
    warmupCalls: num('BENCH_INGEST_WARMUP_CALLS', 200, 0),
    rounds: num('BENCH_INGEST_ROUNDS', 1, 1),
    scryptN,
    targetRatio: envNumber(env, 'BENCH_INGEST_TARGET_RATIO', 0.6, 0),
    targetP99Ms: envNumber(env, 'BENCH_INGEST_TARGET_P99_MS', 25, 0),
    callTimeoutMs: num('BENCH_INGEST_CALL_TIMEOUT_MS', 30_000, 1_000),
    maxPhaseSeconds: envNumber(env, 'BENCH_INGEST_MAX_PHASE_SECONDS', 600, 1),
    cpuProf: [...new Set(cpuProf)],
    logLevel: env.BENCH_LOG_LEVEL ?? 'info',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

/**
 * `node test/bench/ingest/main.ts` (`npm run bench:ingest`): `POST /v1/tool-calls` on the real
 * ingress with no worker running, against a bare Fastify route that only creates the same record
 * and adds the same job (`runIngestBench`); see docs/benchmarks.md. Knobs (env), defaults in brackets:
 *   BENCH_INGEST_CALLS [3000], BENCH_INGEST_CONCURRENCY [32], BENCH_INGEST_WARMUP_CALLS [200],
 *   BENCH_INGEST_ROUNDS [1], BENCH_INGEST_SCRYPT_N [16384], BENCH_INGEST_TARGET_RATIO [0.6],
 *   BENCH_INGEST_TARGET_P99_MS [25], BENCH_INGEST_CALL_TIMEOUT_MS [30000],
 *   BENCH_INGEST_MAX_PHASE_SECONDS [600], BENCH_INGEST_CPU_PROF [ingress,bare,mcp,cosmos | all],
 *   BENCH_LOG_LEVEL [info], REDIS_URL [redis://127.0.0.1:6379],
 *   BENCH_INGEST_OUT [test/bench/results/ingest-latest.json].
 * Exit code: 0 when every accepted submission was recorded and queued and none failed (whether or
 * not the target is met), 1 otherwise, 130 when stopped.
 */
import { runBenchMain } from '../broker/bench-main.ts';
import { DEFAULT_INGEST_OUT, formatIngestReport, runIngestBench } from './ingest-bench.ts';

await runBenchMain({
  name: 'bench:ingest',
  run: runIngestBench,
  format: formatIngestReport,
  resultsFile: process.env.BENCH_INGEST_OUT ?? DEFAULT_INGEST_OUT,
});

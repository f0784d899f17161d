/**
 * `node test/bench/broker/main.ts` (`npm run bench:broker`): the broker benchmark on its own
 * (`runBrokerBench`); see docs/benchmarks.md. Knobs (env), defaults in brackets:
 *   BENCH_BROKER_PATHS [direct-pooled,direct-per-call,broker; `all` adds broker-light-auth],
 *   BENCH_BROKER_CALLS [3000; 100000 for the memory run], BENCH_BROKER_CONCURRENCY [32],
 *   BENCH_BROKER_WARMUP_CALLS [200], BENCH_BROKER_ROUNDS [1], BENCH_BROKER_DIRECT_CALLS [min(calls, 20000)],
 *   BENCH_BROKER_PER_CALL_CALLS [min(calls, 5000)], BENCH_BROKER_COMPLETION [callback | wait],
 *   BENCH_BROKER_SCRYPT_N [16384], BENCH_BROKER_TARGET_RATIO [0.45], BENCH_BROKER_CALL_TIMEOUT_MS [60000],
 *   BENCH_BROKER_MAX_PHASE_SECONDS [1200], BENCH_BROKER_RSS_GROWTH_LIMIT [0.1],
 *   BENCH_BROKER_CPU_PROF [worker,ingress,mcp,cosmos | all], BENCH_LOG_LEVEL [info],
 *   REDIS_URL [redis://127.0.0.1:6379], BENCH_BROKER_OUT [test/bench/results/broker-latest.json].
 * Exit code: 0 when the run had no errors (whether or not the ratio target is met), 1 otherwise, 130 when stopped.
 */
import { runBenchMain } from './bench-main.ts';
import { DEFAULT_BROKER_OUT, formatBrokerReport, runBrokerBench } from './broker-bench.ts';

await runBenchMain({
  name: 'bench:broker',
  run: runBrokerBench,
  format: formatBrokerReport,
  resultsFile: process.env.BENCH_BROKER_OUT ?? DEFAULT_BROKER_OUT,
});

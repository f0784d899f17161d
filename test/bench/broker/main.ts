/**
 * `node test/bench/broker/main.ts` (`npm run bench:broker`): the broker benchmark on its own
 * (`runBrokerBench`); see docs/benchmarks.md. Knobs (env), defaults in brackets:
 *   BENCH_BROKER_PATHS [direct-pooled,direct-per-call,broker; `all` adds broker-light-auth],
 *   BENCH_BROKER_CALLS [3000; 100000 for the memory run], BENCH_BROKER_CONCURRENCY [32],
 *   BENCH_BROKER_WARMUP_CALLS [200], BENCH_BROKER_ROUNDS [1], BENCH_BROKER_DIRECT_CALLS [min(calls, 20000)],
 *   BENCH_BROKER_PER_CALL_CALLS [min(calls, 5000)], BENCH_BROKER_COMPLETION [callback | wait],
 *   BENCH_BROKER_SCRYPT_N [16384], BENCH_BROKER_TARGET_RATIO [0.75], BENCH_BROKER_CALL_TIMEOUT_MS [60000],
 *   BENCH_BROKER_MAX_PHASE_SECONDS [1200], BENCH_BROKER_RSS_GROWTH_LIMIT [0.1],
 *   BENCH_BROKER_CPU_PROF [worker,ingress,mcp,cosmos | all], BENCH_LOG_LEVEL [info],
 *   REDIS_URL [redis://127.0.0.1:6379], BENCH_BROKER_OUT [test/bench/results/broker-latest.json].
 * Exit code: 0 when the run had no errors (whether or not the ratio target is met), 1 otherwise, 130 when stopped.
 */
import type { BenchChild } from '../mcp/children.ts';
import { killAllChildren } from '../mcp/children.ts';
import { DEFAULT_BROKER_OUT, formatBrokerReport, runBrokerBench } from './broker-bench.ts';

const children: BenchChild[] = [];
const stop = new AbortController();
process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!stop.signal.aborted) {
      // First signal: stop cleanly (children stopped, Redis keys deleted); a second one, or 30 s, ends it at once.
      console.error(`\n${signal}: stopping the benchmark (again to force)…`);
      stop.abort();
      setTimeout(() => process.exit(130), 30_000).unref();
      return;
    }
    void Promise.allSettled(children.map((c) => c.stop(3_000)))
      .then(killAllChildren)
      .finally(() => process.exit(130));
  });
}

try {
  const report = await runBrokerBench({ children, signal: stop.signal });
  console.log(`\n${formatBrokerReport(report)}\n\nresults: ${process.env.BENCH_BROKER_OUT ?? DEFAULT_BROKER_OUT}`);
  process.exitCode = report.ok ? 0 : 1;
} catch (err) {
  if (stop.signal.aborted) {
    console.error('[bench:broker] stopped: children stopped, Redis keys deleted, no results written');
    process.exitCode = 130;
  } else {
    console.error('[bench:broker] failed:', err);
    process.exitCode = 1;
  }
} finally {
  killAllChildren();
}

/**
 * `npm run bench:mcp` (and the first half of `npm run bench`): the MCP benchmark, the governed server
 * against a bare SDK server with the same tool. See docs/benchmarks.md.
 * Knobs (env): BENCH_SECONDS (15), BENCH_WARMUP_SECONDS (3), BENCH_CONCURRENCY (32), BENCH_ROUNDS (2),
 * BENCH_CUSTOMERS (200), BENCH_LOG_LEVEL (info), BENCH_TARGET_RATIO (1.0 for query_customer_data, 0.9 otherwise), BENCH_CPU_PROF
 * (governed | bare | all), BENCH_TOOL (query_customer_data | bench_point_read), BENCH_COSMOS_KEEPALIVE (1),
 * BENCH_BUSY_RETRIES (3), REDIS_URL (redis://127.0.0.1:6379), BENCH_OUT (results file).
 * Exit code: 0 when the run had no errors (whether or not the ratio target is met), 1 otherwise.
 */
import { join } from 'node:path';
import { BENCH_TOOL_NAME } from './mcp/bench-tool.ts';
import { type BenchChild, killAllChildren } from './mcp/children.ts';
import { formatReport, runMcpBenchmark, settingsFromEnv, writeReport } from './mcp/mcp-bench.ts';

const children: BenchChild[] = [];
const stopChildren = async () => {
  await Promise.allSettled(children.map((c) => c.stop(3_000)));
  killAllChildren();
};
process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping benchmark children…`);
    void stopChildren().finally(() => process.exit(130));
  });
}

const log = (line: string) => console.log(`[bench] ${line}`);
try {
  const settings = settingsFromEnv(process.env);
  const out =
    process.env.BENCH_OUT ??
    join(
      import.meta.dirname,
      'results',
      settings.tool === BENCH_TOOL_NAME ? 'mcp-latest.json' : `mcp-${settings.tool}-latest.json`,
    );
  log(
    `MCP: tool ${settings.tool}, concurrency ${settings.concurrency}, ${settings.rounds} rounds × (${settings.warmupSeconds} s warm-up + ` +
      `${settings.seconds} s), ${settings.customers} customers, log level ${settings.logLevel}`,
  );
  const report = await runMcpBenchmark(settings, children, log);
  await writeReport(report, out);
  console.log(`\n${formatReport(report)}\n\nresults: ${out}`);
  process.exitCode = report.ok ? 0 : 1;
} catch (err) {
  console.error('[bench] failed:', err);
  process.exitCode = 1;
} finally {
  await stopChildren();
}

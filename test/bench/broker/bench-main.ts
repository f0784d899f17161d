import { type BenchChild, killAllChildren } from '../mcp/children.ts';

export interface BenchMainOptions<R extends { ok: boolean }> {
  /** The tag on its lines, e.g. `bench:broker`. */
  name: string;
  run: (options: { children: BenchChild[]; signal: AbortSignal }) => Promise<R>;
  format: (report: R) => string;
  /** Where the results file was written, for the last line. */
  resultsFile: string;
}

/**
 * The process around a benchmark run: the first SIGINT/SIGTERM stops it cleanly (children stopped,
 * Redis keys deleted); a second one, or 30 s, ends it at once. Exit code 0 when the report is ok,
 * 1 when not or when the run failed, 130 when stopped.
 */
export async function runBenchMain<R extends { ok: boolean }>(o: BenchMainOptions<R>): Promise<void> {
  const children: BenchChild[] = [];
  const stop = new AbortController();
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!stop.signal.aborted) {
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
    const report = await o.run({ children, signal: stop.signal });
    console.log(`\n${o.format(report)}\n\nresults: ${o.resultsFile}`);
    process.exitCode = report.ok ? 0 : 1;
  } catch (err) {
    if (stop.signal.aborted) {
      console.error(`[${o.name}] stopped: children stopped, Redis keys deleted, no results written`);
      process.exitCode = 130;
    } else {
      console.error(`[${o.name}] failed:`, err);
      process.exitCode = 1;
    }
  } finally {
    killAllChildren();
  }
}

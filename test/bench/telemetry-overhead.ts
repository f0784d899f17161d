// Overhead of telemetry on one instrumented path, off (nothing configured) against on (SDK with an
// in-memory span exporter and the Prometheus reader): per iteration one span (withSpan, as the MCP
// server's tools/call), one counter add and one log line with the trace mixin. Each mode runs in its
// own process so the off run never has the SDK loaded. Not a test; run by hand:
//   node test/bench/telemetry-overhead.ts [iterations]
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const [mode, arg] = process.argv.slice(2);
const iterations = Number((mode === 'off' || mode === 'on' ? arg : mode) ?? 20_000);

if (mode === 'off' || mode === 'on') {
  const { createLogger, loadConfig } = await import('@mcp-broker/runtime');
  const { brokerMeter, startTelemetry, telemetryConfigSchema, withSpan } = await import('@mcp-broker/telemetry');
  const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base');
  const exporter = new InMemorySpanExporter();
  const telemetry = await startTelemetry(
    loadConfig(telemetryConfigSchema, mode === 'on' ? { OTEL_METRICS_EXPORTER: 'prometheus' } : {}),
    { serviceName: 'bench', ...(mode === 'on' ? { spanExporter: exporter } : {}) },
  );
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const logger = createLogger({ name: 'bench', destination: sink });
  const counter = brokerMeter().createCounter('bench_calls');
  const once = () =>
    withSpan('tools/call bench', { attributes: { 'gen_ai.tool.name': 'bench' } }, async () => {
      counter.add(1, { caller: 'caller-a', tool: 'bench' });
      logger.info({ callId: 'tc_x' }, 'call done');
    });
  // The same work without the span and the counter: what the path costs without telemetry at all.
  const bare = async () => {
    logger.info({ callId: 'tc_x' }, 'call done');
  };
  const time = async (fn: () => Promise<void>) => {
    for (let i = 0; i < 2_000; i++) await fn();
    exporter.reset();
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      await fn();
      if (i % 1_000 === 0) exporter.reset();
    }
    return Math.round(Number(process.hrtime.bigint() - started) / iterations / 10) / 100;
  };
  const bareUs = await time(bare);
  const instrumentedUs = await time(once);
  await telemetry.shutdown();
  process.stdout.write(JSON.stringify({ mode, iterations, bareUs, instrumentedUs }));
} else {
  const self = fileURLToPath(import.meta.url);
  const run = (m: string) => JSON.parse(execFileSync(process.execPath, [self, m, String(iterations)]).toString());
  const off = run('off');
  const on = run('on');
  process.stdout.write(
    `${iterations} iterations of one log line (bare) and of one span + one counter add + the log line (instrumented), µs each:\n` +
      `  telemetry off: bare ${off.bareUs}, instrumented ${off.instrumentedUs}\n` +
      `  telemetry on:  bare ${on.bareUs}, instrumented ${on.instrumentedUs}\n`,
  );
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

// A fresh process records every module it resolves, then starts telemetry with the variables given:
// the only way to see what a real main.ts would load (vitest's own process has loaded everything).
const probe = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
const { loadConfig } = await import('@mcp-broker/runtime');
const { startTelemetry, telemetryConfigSchema } = await import('@mcp-broker/telemetry');
const before = performance.now();
const telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, JSON.parse(process.argv[1])), { serviceName: 'probe' });
const startMs = performance.now() - before;
const sdk = seen.filter((u) => /@opentelemetry\\/(sdk-|exporter-|instrumentation)|@azure\\/monitor-opentelemetry|@fastify\\/otel|bullmq-otel|import-in-the-middle/.test(u));
await telemetry.shutdown();
process.stdout.write(JSON.stringify({ enabled: telemetry.enabled, prometheus: Boolean(telemetry.prometheus), bullmq: Boolean(telemetry.bullmq), sdk, startMs }));
`;

async function probeWith(env: Record<string, string>) {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe, JSON.stringify(env)], {
    cwd: import.meta.dirname,
    timeout: 60_000,
  });
  return JSON.parse(stdout) as {
    enabled: boolean;
    prometheus: boolean;
    bullmq: boolean;
    sdk: string[];
    startMs: number;
  };
}

// Each case starts a Node process that loads the SDK: slow on a busy machine.
describe('startTelemetry', { timeout: 60_000 }, () => {
  it('with nothing configured loads no SDK, exporter or instrumentation', async () => {
    const off = await probeWith({});
    // What it loads is the proof; its time is the bench's business (test/bench/telemetry-overhead.ts).
    expect(off).toMatchObject({ enabled: false, prometheus: false, bullmq: false, sdk: [] });
  });

  it('with OTEL_SDK_DISABLED=true loads nothing even when an endpoint is set', async () => {
    const off = await probeWith({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' });
    expect(off).toMatchObject({ enabled: false, sdk: [] });
  });

  it('with an OTLP endpoint loads the SDK, the exporters and the instrumentations', async () => {
    const on = await probeWith({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_METRICS_EXPORTER: 'none' });
    expect(on.enabled).toBe(true);
    expect(on.bullmq).toBe(true);
    const loaded = on.sdk.join('\n');
    expect(loaded).toContain('@opentelemetry/sdk-node');
    expect(loaded).toContain('@opentelemetry/exporter-trace-otlp-http');
    expect(loaded).toContain('@fastify/otel');
    expect(loaded).not.toContain('@azure/monitor-opentelemetry');
  });

  it('with OTEL_METRICS_EXPORTER=prometheus serves a scrape and nothing else is exported', async () => {
    const on = await probeWith({ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_TRACES_EXPORTER: 'none' });
    expect(on).toMatchObject({ enabled: true, prometheus: true });
  });
});

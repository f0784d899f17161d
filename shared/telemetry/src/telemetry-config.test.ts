import { ConfigError, loadConfig } from '@mcp-broker/runtime';
import { describe, expect, it } from 'vitest';
import { telemetryConfigSchema, telemetryPlan } from './telemetry-config.ts';

const plan = (env: Record<string, string>) => telemetryPlan(loadConfig(telemetryConfigSchema, env), 'ingress');

describe('telemetry configuration', () => {
  it('refuses OTLP headers that are not key=value pairs without echoing them (they hold secrets)', () => {
    const attempt = () => loadConfig(telemetryConfigSchema, { OTEL_EXPORTER_OTLP_HEADERS: 'Bearer s3cr3t-token' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/OTEL_EXPORTER_OTLP_HEADERS: expected key=value pairs/);
    expect(attempt).not.toThrow(/s3cr3t/);
  });

  it('refuses an unknown exporter and an endpoint that is not a URL, naming the variable', () => {
    expect(() => loadConfig(telemetryConfigSchema, { OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig(telemetryConfigSchema, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => loadConfig(telemetryConfigSchema, { OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG/,
    );
  });

  it('is off when nothing asks for it, or when disabled', () => {
    expect(plan({})).toBeUndefined();
    expect(plan({ OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined();
    expect(
      plan({ OTEL_SDK_DISABLED: 'true', APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=x' }),
    ).toBeUndefined();
  });

  it('adds the signal paths to the base endpoint; a signal endpoint wins; none drops a signal', () => {
    const p = plan({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://metrics:9000/ingest',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%3Db,tenant=t1',
      OTEL_SERVICE_NAME: 'ingress-eu',
    });
    expect(p).toMatchObject({
      serviceName: 'ingress-eu',
      traces: { otlp: { url: 'http://collector:4318/v1/traces', headers: { 'x-api-key': 'a=b', tenant: 't1' } } },
      metrics: { otlp: { url: 'http://metrics:9000/ingest' }, prometheus: false },
    });
    const tracesOnly = plan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_METRICS_EXPORTER: 'none' });
    expect(tracesOnly?.metrics.otlp).toBeUndefined();
    expect(tracesOnly?.traces.otlp).toBeDefined();
  });

  it('Application Insights alone turns telemetry on; Prometheus alone too', () => {
    expect(
      plan({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000' }),
    ).toMatchObject({ azureMonitor: { connectionString: expect.stringContaining('InstrumentationKey=') } });
    expect(plan({ OTEL_METRICS_EXPORTER: 'prometheus' })).toMatchObject({ metrics: { prometheus: true } });
  });
});

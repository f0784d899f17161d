import type { DiagLogger } from '@opentelemetry/api';
import type { Telemetry as BullMqTelemetry } from 'bullmq';
import type { MetricsScrape } from './metrics-scrape.ts';
import type { SdkExtras } from './otel-sdk.ts';
import { type TelemetryConfig, telemetryPlan } from './telemetry-config.ts';

/** What a service gets from `startTelemetry`; everything optional is absent when telemetry is off. */
export interface ServiceTelemetry {
  readonly enabled: boolean;
  /** `GET /metrics`, when `OTEL_METRICS_EXPORTER` includes `prometheus`. */
  readonly prometheus?: MetricsScrape;
  /** BullMQ's telemetry option (bullmq-otel): the trace travels inside each job. */
  readonly bullmq?: BullMqTelemetry;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

export interface StartTelemetryOptions extends SdkExtras {
  /** `service.name` unless OTEL_SERVICE_NAME says otherwise. */
  serviceName: string;
  diagLogger?: DiagLogger;
}

const OFF: ServiceTelemetry = { enabled: false, shutdown: async () => {} };

/**
 * Starts OpenTelemetry for the process, first thing in `main.ts`. With nothing configured it
 * returns at once and imports nothing: the SDK, exporters and instrumentations are loaded by the
 * dynamic import below only when a variable turns them on, and every instrument the services use
 * stays the API's no-op.
 */
export async function startTelemetry(
  config: TelemetryConfig,
  options: StartTelemetryOptions,
): Promise<ServiceTelemetry> {
  const plan = telemetryPlan(config, options.serviceName);
  if (!plan && !options.spanExporter && !options.metricReader) return OFF;
  const effective = plan ?? {
    serviceName: config.OTEL_SERVICE_NAME ?? options.serviceName,
    resourceAttributes: {},
    traces: { console: false },
    metrics: { prometheus: false },
    samplingRatio: 1,
  };
  const { startSdk } = await import('./otel-sdk.ts');
  const handles = await startSdk(effective, options);
  // After the SDK's module hook: bullmq-otel loads bullmq, and everything it loads, with it.
  const { BullMQOtel } = await import('bullmq-otel');
  return {
    enabled: true,
    ...(handles.prometheus ? { prometheus: handles.prometheus } : {}),
    bullmq: new BullMQOtel({ tracerName: 'mcp-broker', meterName: 'bullmq', version: '0.1.0', enableMetrics: true }),
    shutdown: handles.shutdown,
  };
}

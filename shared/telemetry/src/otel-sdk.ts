// Loaded only when telemetry is on (start-telemetry.ts imports it dynamically): the SDK, its
// exporters and instrumentations cost nothing in a process that exports nothing.

import { useInstrumenter } from '@azure/core-tracing';
import { createOpenTelemetryInstrumenter } from '@azure/opentelemetry-instrumentation-azure-sdk';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { type MetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { register as registerModuleHooks } from 'import-in-the-middle/register-hooks.mjs';
import type { MetricsScrape } from './metrics-scrape.ts';
import type { TelemetryPlan } from './telemetry-config.ts';

export interface SdkHandles {
  prometheus?: MetricsScrape;
  shutdown(): Promise<void>;
}

export interface SdkExtras {
  /** Tests: where spans go besides the configured exporters (an InMemorySpanExporter). */
  spanExporter?: SpanExporter;
  /** Tests: an extra metric reader. */
  metricReader?: MetricReader;
  /** Where the SDK's own warnings go (an exporter that cannot reach its collector). */
  diagLogger?: DiagLogger;
}

/**
 * Modules patched at load time; everything else is left to the ESM loader untouched. Not ioredis:
 * the instrumentation on this SDK line supports ioredis < 6 only (the broker runs 6), so Redis
 * shows as BullMQ's spans, not one span per command (docs/observability.md).
 */
const PATCHED_MODULES = ['http', 'https', 'node:http', 'node:https'];

function instrumentations(): Instrumentation[] {
  return [
    // Fastify's own instrumentation: a SERVER span per request (the caller's traceparent as its
    // parent), one span per hook, so the MCP server's governance steps show as spans.
    new FastifyOtelInstrumentation({ registerOnInitialization: true, ignorePaths: (r) => isProbe(r.url) }),
    // fetch (the MCP client, callbacks, OAuth): CLIENT spans and the traceparent header.
    new UndiciInstrumentation(),
    // node:http clients (jsforce, Azure SDKs); incoming requests are Fastify's spans above.
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
  ];
}

function isProbe(url: string | undefined): boolean {
  return url === '/healthz' || url === '/readyz' || url === '/metrics';
}

/** Starts the OpenTelemetry SDK for one process as the plan says. */
export async function startSdk(plan: TelemetryPlan, extras: SdkExtras = {}): Promise<SdkHandles> {
  if (extras.diagLogger) diag.setLogger(extras.diagLogger, DiagLogLevel.WARN);
  // node:http is patched when it loads: with ESM that takes a loader hook, in-thread
  // (module.registerHooks), registered before start.ts is imported (main.ts imports it afterwards).
  registerModuleHooks({ include: PATCHED_MODULES });
  const resource = defaultResource().merge(
    resourceFromAttributes({ ...plan.resourceAttributes, 'service.name': plan.serviceName }),
  );
  const spanProcessors: SpanProcessor[] = [];
  if (plan.traces.otlp) {
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: plan.traces.otlp.url, headers: plan.traces.otlp.headers })),
    );
  }
  if (plan.traces.console) spanProcessors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  if (extras.spanExporter) spanProcessors.push(new SimpleSpanProcessor(extras.spanExporter));
  const metricReaders: MetricReader[] = [];
  if (plan.metrics.otlp) {
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: plan.metrics.otlp.url, headers: plan.metrics.otlp.headers }),
        exportIntervalMillis: plan.metrics.otlp.intervalMs,
      }),
    );
  }
  const prometheus = plan.metrics.prometheus ? new PrometheusExporter({ preventServerStart: true }) : undefined;
  if (prometheus) metricReaders.push(prometheus);
  if (extras.metricReader) metricReaders.push(extras.metricReader);
  const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(plan.samplingRatio) });
  // Cosmos DB (and every Azure SDK client) traces through @azure/core-tracing: one span per
  // operation and per HTTP request, with the traceparent on the request.
  useInstrumenter(createOpenTelemetryInstrumenter());

  let shutdown: () => Promise<void>;
  if (plan.azureMonitor) {
    const { useAzureMonitor, shutdownAzureMonitor } = await import('@azure/monitor-opentelemetry');
    useAzureMonitor({
      azureMonitorExporterOptions: { connectionString: plan.azureMonitor.connectionString },
      resource,
      samplingRatio: plan.samplingRatio,
      tracesPerSecond: 0,
      spanProcessors,
      // The same readers; typed against its own copy of sdk-metrics (a minor version apart).
      metricReaders: metricReaders as unknown as NonNullable<Parameters<typeof useAzureMonitor>[0]>['metricReaders'],
      // Its own http instrumentation would also trace incoming requests, twice with Fastify's.
      instrumentationOptions: { http: { enabled: false }, azureSdk: { enabled: false } },
    });
    const disable = registerInstrumentations({ instrumentations: instrumentations() });
    shutdown = async () => {
      disable();
      await shutdownAzureMonitor();
    };
  } else {
    const sdk = new NodeSDK({
      resource,
      autoDetectResources: false,
      resourceDetectors: [],
      spanProcessors,
      metricReaders,
      sampler,
      instrumentations: instrumentations(),
    });
    sdk.start();
    shutdown = () => sdk.shutdown();
  }
  return {
    ...(prometheus ? { prometheus: { handle: (req, res) => prometheus.getMetricsRequestHandler(req, res) } } : {}),
    shutdown,
  };
}

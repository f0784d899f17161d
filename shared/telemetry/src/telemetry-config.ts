import { z } from 'zod';

const list = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()));

/** `key1=value1,key2=value2` (OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES), values URL-decoded. */
const keyValues = z.string().transform((s, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      // Never echo the pair: a header value is usually a secret.
      ctx.addIssue({ code: 'custom', message: 'expected key=value pairs separated by commas' });
      return z.NEVER;
    }
    out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/**
 * The standard OpenTelemetry variables the broker honours, plus Application Insights. Every
 * service's `main.ts` parses them with this schema; the SDK never reads `process.env` itself.
 */
export const telemetryConfigSchema = z.object({
  OTEL_SDK_DISABLED: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** Overrides the service's own name (`ingress`, `worker`, `mcp-server`). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: keyValues.optional(),
  /** Base URL of an OTLP/HTTP receiver (a collector): `/v1/traces` and `/v1/metrics` are added. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_HEADERS: keyValues.optional(),
  /** Only OTLP/HTTP with JSON bodies is sent (the exporters of @opentelemetry/exporter-*-otlp-http). */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.literal('http/json', { error: 'only http/json is supported' }).optional(),
  /** `otlp` (the default when an endpoint is set), `console` or `none`. */
  OTEL_TRACES_EXPORTER: list.pipe(z.array(z.enum(['otlp', 'console', 'none']))).optional(),
  /** Any of `otlp`, `prometheus` (serves `GET /metrics` on the service's own port), `none`. */
  OTEL_METRICS_EXPORTER: list.pipe(z.array(z.enum(['otlp', 'prometheus', 'none']))).optional(),
  OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().positive().default(60_000),
  /** Ratio of root traces kept (parent-based: a sampled caller's trace is always kept). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  /** Sends traces and metrics to Application Insights through @azure/monitor-opentelemetry. */
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().min(1).optional(),
});

export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;

/** What a configuration turns on; nothing at all when no variable asks for it. */
export interface TelemetryPlan {
  serviceName: string;
  resourceAttributes: Record<string, string>;
  traces: { otlp?: { url: string; headers: Record<string, string> }; console: boolean };
  metrics: {
    otlp?: { url: string; headers: Record<string, string>; intervalMs: number };
    prometheus: boolean;
  };
  azureMonitor?: { connectionString: string };
  samplingRatio: number;
}

function signalUrl(config: TelemetryConfig, specific: string | undefined, path: string): string | undefined {
  if (specific) return specific;
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}${path}`;
}

/** The plan for one service, or undefined when telemetry is off (nothing configured, or disabled). */
export function telemetryPlan(config: TelemetryConfig, serviceName: string): TelemetryPlan | undefined {
  if (config.OTEL_SDK_DISABLED) return undefined;
  const headers = config.OTEL_EXPORTER_OTLP_HEADERS ?? {};
  const tracesExporters = config.OTEL_TRACES_EXPORTER ?? ['otlp'];
  const metricsExporters = config.OTEL_METRICS_EXPORTER ?? ['otlp'];
  const tracesUrl = signalUrl(config, config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, '/v1/traces');
  const metricsUrl = signalUrl(config, config.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, '/v1/metrics');
  const plan: TelemetryPlan = {
    serviceName: config.OTEL_SERVICE_NAME ?? serviceName,
    resourceAttributes: config.OTEL_RESOURCE_ATTRIBUTES ?? {},
    traces: {
      ...(tracesExporters.includes('otlp') && tracesUrl ? { otlp: { url: tracesUrl, headers } } : {}),
      console: tracesExporters.includes('console'),
    },
    metrics: {
      ...(metricsExporters.includes('otlp') && metricsUrl
        ? { otlp: { url: metricsUrl, headers, intervalMs: config.OTEL_METRIC_EXPORT_INTERVAL } }
        : {}),
      prometheus: metricsExporters.includes('prometheus'),
    },
    ...(config.APPLICATIONINSIGHTS_CONNECTION_STRING
      ? { azureMonitor: { connectionString: config.APPLICATIONINSIGHTS_CONNECTION_STRING } }
      : {}),
    samplingRatio: config.OTEL_TRACES_SAMPLER_ARG,
  };
  const anything =
    plan.traces.otlp || plan.traces.console || plan.metrics.otlp || plan.metrics.prometheus || plan.azureMonitor;
  return anything ? plan : undefined;
}

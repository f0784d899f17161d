import { type Context, context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';

/**
 * The W3C trace context of the active span, as `params._meta` carries it (MCP SEP-414:
 * `traceparent`, `tracestate`). Empty when no span is active (telemetry off).
 */
export function activeTraceMeta(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const meta: Record<string, string> = {};
  if (carrier.traceparent) meta.traceparent = carrier.traceparent;
  if (carrier.tracestate) meta.tracestate = carrier.tracestate;
  return meta;
}

/**
 * The context to run a request under: the active one when it already has a span (the HTTP
 * `traceparent`, extracted by the server instrumentation), otherwise the one `_meta` carries
 * (SEP-414), for a client that put it only there.
 */
export function contextFromMeta(meta: Record<string, unknown> | undefined): Context {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  const carrier: Record<string, string> = {};
  if (typeof meta?.traceparent === 'string') carrier.traceparent = meta.traceparent;
  if (typeof meta?.tracestate === 'string') carrier.tracestate = meta.tracestate;
  return carrier.traceparent ? propagation.extract(ROOT_CONTEXT, carrier) : active;
}

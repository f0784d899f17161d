import { type Attributes, type Context, context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = () => trace.getTracer('mcp-broker');

/**
 * Runs `fn` in a span where no instrumentation can see (the MCP server's tool execution). With
 * telemetry off the API hands back a non-recording span: the cost is one function call.
 */
export async function withSpan<T>(
  name: string,
  options: { attributes?: Attributes; parent?: Context; kind?: SpanKind },
  fn: () => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
    options.parent,
  );
  const parent = options.parent ?? context.active();
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/** Adds attributes to the active span (none when telemetry is off). */
export function setSpanAttributes(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

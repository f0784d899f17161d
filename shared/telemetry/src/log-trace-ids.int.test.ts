import { Writable } from 'node:stream';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceTelemetry, startTelemetry } from './start-telemetry.ts';
import { telemetryConfigSchema } from './telemetry-config.ts';
import { withSpan } from './with-span.ts';

const exporter = new InMemorySpanExporter();
let telemetry: ServiceTelemetry;

beforeAll(async () => {
  telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, {}), {
    serviceName: 'logs',
    spanExporter: exporter,
  });
});
afterAll(() => telemetry?.shutdown());

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: createLogger({ name: 'test', destination }) };
}

describe('log lines carry the trace', () => {
  it('a line written inside a span has its trace_id and span_id, a child logger’s too', async () => {
    const { lines, logger } = capture();
    await withSpan('work', {}, async () => {
      logger.info('inside');
      logger.child({ callId: 'x' }).warn('child inside');
    });
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'work');
    expect(span).toBeDefined();
    for (const line of lines) {
      expect(line).toMatchObject({ trace_id: span!.spanContext().traceId, span_id: span!.spanContext().spanId });
    }
    expect(lines).toHaveLength(2);
  });

  it('a line outside any span has no trace fields', () => {
    const { lines, logger } = capture();
    logger.info('outside');
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).not.toHaveProperty('span_id');
  });

  it('a failing span records the error and still ends', async () => {
    await expect(
      withSpan('fails', {}, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'fails');
    expect(span?.status).toMatchObject({ code: 2, message: 'boom' });
    expect(span?.events.some((e) => e.name === 'exception')).toBe(true);
  });
});

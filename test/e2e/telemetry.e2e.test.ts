import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '@mcp-broker/runtime';
import { type ServiceTelemetry, startTelemetry, telemetryConfigSchema } from '@mcp-broker/telemetry';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerStack, settledCall, startCallbackReceiver } from '../support/broker-stack.ts';

// One process holds ingress, the worker and the MCP server, so one tracer provider sees every
// span: each hop is told apart by what made the span (Fastify route, BullMQ, undici, the tool).
const exporter = new InMemorySpanExporter();
let telemetry: ServiceTelemetry;
let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let settle: typeof settledCall;

beforeAll(async () => {
  telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, { OTEL_METRICS_EXPORTER: 'prometheus' }), {
    serviceName: 'e2e',
    spanExporter: exporter,
  });
  // Imported only now, as main.ts does: node:http (the callbacks' client) is instrumented when it loads.
  const { settledCall, startBrokerStack, startCallbackReceiver } = await import('../support/broker-stack.ts');
  settle = settledCall;
  const { brokerTestTools } = await import('../support/broker-test-tools.ts');
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    telemetry,
    workerEnv: { HEALTH_PORT: '0' },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
  await telemetry?.shutdown();
}, 60_000);

/**
 * Submits as an instrumented client would: under the caller's span (`traceparent` of the caller's
 * own trace), so the test's fetch span, a child of it, is the ingress request's parent.
 */
async function submit(body: unknown, caller: { traceId: string; parentId: string }) {
  const callerContext = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: caller.traceId,
    spanId: caller.parentId,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const res = await context.with(callerContext, () =>
    fetch(`${stack.ingressUrl}/v1/tool-calls`, {
      method: 'POST',
      headers: {
        authorization: stack.auth('caller-a'),
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify(body),
    }),
  );
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string };
}

const settled = (id: string) => settle(stack, id);

/** Spans of one trace, waiting until `done` holds (the audit write and callbacks end after the call). */
async function traceSpans(traceId: string, done: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (done(spans) || Date.now() > deadline) return spans;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/** Whether `ancestor` is on `span`'s parent chain within `spans`. */
function descendsFrom(span: ReadableSpan, ancestor: ReadableSpan, spans: ReadableSpan[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  let current: ReadableSpan | undefined = span;
  while (current) {
    const parent = parentOf(current);
    if (parent === ancestor.spanContext().spanId) return true;
    current = parent ? byId.get(parent) : undefined;
  }
  return false;
}

const route = (s: ReadableSpan) => s.attributes['http.route'];
const isServerRequest = (path: string) => (s: ReadableSpan) => s.name === 'request' && route(s) === path;
const callerTrace = () => {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId };
};

describe('one trace per call', () => {
  it('the caller’s trace runs from ingress through the queue and worker to the MCP server, its tool and the write-back', async () => {
    const caller = callerTrace();
    const { id } = await submit(
      {
        tool: 'test_echo',
        arguments: { message: `trace-${randomUUID()}` },
        writeBack: [{ type: 'http-callback', url: receiver.url('/traced') }],
      },
      caller,
    );
    expect((await settled(id)).status).toBe('succeeded');
    // The process span ends last (after the write-back inside it), so wait for both.
    const spans = await traceSpans(
      caller.traceId,
      (all) =>
        all.some((s) => s.name.startsWith('POST') && String(s.attributes['url.full'] ?? '').includes('/traced')) &&
        all.some((s) => s.name.startsWith('process ') && s.name.includes('tool-calls.caller-a')),
    );

    const ingress = spans.find(isServerRequest('/v1/tool-calls'));
    expect(ingress, 'ingress request span').toBeDefined();
    const client = spans.find((s) => s.spanContext().spanId === parentOf(ingress!));
    expect(client?.name, 'the caller’s request span').toBe('POST');
    expect(parentOf(client!)).toBe(caller.parentId);

    const added = spans.find((s) => s.name.startsWith('add ') && s.name.includes('tool-calls.caller-a'));
    expect(added, 'BullMQ add span').toBeDefined();
    expect(descendsFrom(added!, ingress!, spans)).toBe(true);

    const processed = spans.filter((s) => s.name.startsWith('process ') && s.name.includes('tool-calls.caller-a'));
    expect(processed, 'one BullMQ process span (one attempt)').toHaveLength(1);
    expect(descendsFrom(processed[0]!, added!, spans)).toBe(true);

    // The MCP request that ran the tool (ingress's own tools/list lookups are in the trace too).
    const tool = spans.find((s) => s.name === 'tools/call test_echo');
    expect(tool, 'tool span').toBeDefined();
    expect(tool!.attributes).toMatchObject({
      'gen_ai.tool.name': 'test_echo',
      'mcp.agent.id': 'broker-for-a',
      'mcp.tool.outcome': 'success',
    });
    const mcpRequest = spans.filter(isServerRequest('/mcp')).find((r) => descendsFrom(tool!, r, spans));
    expect(mcpRequest, 'MCP server request span above the tool').toBeDefined();
    expect(descendsFrom(mcpRequest!, processed[0]!, spans)).toBe(true);

    // Governance hooks are spans of their own under the MCP request (Fastify's instrumentation).
    const hooks = spans.filter((s) => s.name.startsWith('preValidation') || s.name.startsWith('preHandler'));
    expect(hooks.length).toBeGreaterThan(0);
    for (const h of hooks.filter((s) => descendsFrom(s, mcpRequest!, spans))) expect(h.endTime).toBeDefined();

    // Cosmos DB: the record's writes, through the Azure SDK's tracing, under the worker's attempt.
    const cosmosPort = Number(new URL(stack.store.endpoint).port);
    const cosmos = spans.filter((s) => s.attributes['server.port'] === cosmosPort);
    expect(cosmos.some((s) => descendsFrom(s, processed[0]!, spans))).toBe(true);

    const callback = spans.find(
      (s) => s.name.startsWith('POST') && String(s.attributes['url.full'] ?? '').includes('/traced'),
    );
    expect(callback, 'write-back span').toBeDefined();
    expect(descendsFrom(callback!, processed[0]!, spans)).toBe(true);

    // The receiver got the trace too: the callback request carries this trace's traceparent.
    const received = receiver.received.find((c) => c.json.id === id);
    expect(String(received?.headers.traceparent)).toContain(caller.traceId);
  });

  it('a retried call keeps its trace, with one process span per attempt', async () => {
    const caller = callerTrace();
    const { id } = await submit({ tool: 'test_flaky', arguments: { key: randomUUID(), failTimes: 2 } }, caller);
    const done = await settled(id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3 });
    const spans = await traceSpans(
      caller.traceId,
      // The last attempt's process span ends after its tool span, so wait for both.
      (all) =>
        all.filter((s) => s.name === 'tools/call test_flaky').length >= 3 &&
        all.filter((s) => s.name.startsWith('process ') && s.name.includes('tool-calls.caller-a')).length >= 3,
    );
    const processed = spans.filter((s) => s.name.startsWith('process ') && s.name.includes('tool-calls.caller-a'));
    expect(processed).toHaveLength(3);
    expect(spans.filter((s) => s.name === 'tools/call test_flaky')).toHaveLength(3);
    const text = await (await fetch(`${stack.ingressUrl}/metrics`)).text();
    const retries = samples(text, 'mcpb_tool_call_retries_total').filter(
      (s) => s.labels.caller === 'caller-a' && s.labels.tool === 'test_flaky',
    );
    expect(retries.reduce((n, s) => n + s.value, 0)).toBeGreaterThanOrEqual(2);
  });
});

/** Samples of one metric family from a Prometheus exposition, labels parsed. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

describe('Prometheus /metrics', () => {
  it('ingress, the worker health app and the MCP server serve the series after a call, by caller, tool and outcome', async () => {
    const { id } = await submit({ tool: 'test_echo', arguments: { message: `m-${randomUUID()}` } }, callerTrace());
    expect((await settled(id)).status).toBe('succeeded');

    // One process, one meter provider: each service's endpoint serves every series recorded here.
    for (const url of [
      `${stack.ingressUrl}/metrics`,
      `${stack.worker!.healthUrl}/metrics`,
      `${stack.mcpUrl}/metrics`,
    ]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      const calls = samples(text, 'mcpb_tool_calls_total');
      expect(
        calls.find(
          (s) => s.labels.caller === 'caller-a' && s.labels.tool === 'test_echo' && s.labels.outcome === 'succeeded',
        )?.value,
      ).toBeGreaterThanOrEqual(1);
      const waits = samples(text, 'mcpb_call_queue_wait_seconds_count');
      expect(waits.find((s) => s.labels.caller === 'caller-a')?.value).toBeGreaterThanOrEqual(1);
      expect(samples(text, 'mcpb_call_duration_seconds_bucket').length).toBeGreaterThan(0);
      expect(samples(text, 'mcpb_queue_depth').find((s) => s.labels.caller === 'caller-a')).toBeDefined();
      expect(
        samples(text, 'mcpb_queue_oldest_waiting_age_seconds').find((s) => s.labels.caller === 'caller-a'),
      ).toBeDefined();
      const server = samples(text, 'mcp_server_tool_calls_total');
      expect(
        server.find((s) => s.labels.tool === 'test_echo' && s.labels.status === 'success')?.value,
      ).toBeGreaterThanOrEqual(1);
      // Bounded labels: no call id or request id is ever a label value.
      expect(text).not.toContain(id);
      for (const line of text.split('\n').filter((l) => !l.startsWith('#')))
        expect(line).not.toMatch(/tc_[0-9a-f]{40}/);
    }
  });
});

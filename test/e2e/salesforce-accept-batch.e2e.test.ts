import { randomUUID } from 'node:crypto';
import { loadConfig } from '@mcp-broker/runtime';
import type { SalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { type ServiceTelemetry, startTelemetry, telemetryConfigSchema } from '@mcp-broker/telemetry';
import type { StartedWorker } from '@mcp-broker/worker';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';

// A burst of platform events through the worker's channel with SALESFORCE_ACCEPT_BATCH=1 (each
// event accepted on its own) and =100 (the events in hand accepted in groups): the same calls,
// one per event whatever the duplicates, each with its own trace from its event.

const CHANNEL = '/event/MCP_Tool_Request__e';
const exporter = new InMemorySpanExporter();
let telemetry: ServiceTelemetry;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let tools: typeof import('../support/broker-test-tools.ts');
let support: typeof import('../support/broker-stack.ts');

beforeAll(async () => {
  telemetry = await startTelemetry(loadConfig(telemetryConfigSchema, {}), {
    serviceName: 'e2e',
    spanExporter: exporter,
  });
  // Imported only now, as main.ts does: what they load is instrumented when it loads.
  support = await import('../support/broker-stack.ts');
  tools = await import('../support/broker-test-tools.ts');
  receiver = await support.startCallbackReceiver();
}, 60_000);
afterAll(async () => {
  await receiver?.close();
  await telemetry?.shutdown();
}, 60_000);

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const isProcess = (s: ReadableSpan) => s.name.startsWith('process ') && s.name.includes('tool-calls.caller-a');

describe.each(['1', '100'])('SALESFORCE_ACCEPT_BATCH=%s', (batch) => {
  let stack: BrokerStack;
  // Its own sandbox: the other run's events are not in its backlog.
  let sandbox: SalesforceSandbox;

  beforeAll(async () => {
    const { startSalesforceSandbox } = await import('@mcp-broker/salesforce-sandbox');
    sandbox = await startSalesforceSandbox({ longPollTimeoutMs: 2_000 });
    stack = await support.startBrokerStack({
      tools: tools.brokerTestTools,
      callbackHost: receiver.host,
      roles: ['Test.Echo'],
      telemetry,
      workerEnv: { SALESFORCE_ACCEPT_BATCH: batch },
      salesforce: {
        loginUrl: sandbox.loginUrl,
        clientId: sandbox.clientId,
        clientSecret: sandbox.clientSecret,
        apiVersion: sandbox.apiVersion,
      },
    });
    const worker = stack.worker as StartedWorker;
    await vi.waitFor(
      () => expect(worker.salesforceChannels().find((c) => c.channel === CHANNEL)?.state).toBe('subscribed'),
      { timeout: 20_000, interval: 50 },
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await sandbox?.close();
  }, 60_000);

  it('a burst of 150 events, 30 of them delivered twice, is one call per event, each in the trace of its own event', async () => {
    exporter.reset();
    const run = randomUUID().slice(0, 8);
    const messages = Array.from({ length: 150 }, (_, i) => `burst-${batch}-${run}-${i}`);
    const publish = (message: string) =>
      sandbox.publishEvent(CHANNEL, {
        Tool__c: 'test_echo',
        Arguments__c: JSON.stringify({ message }),
        Request_Id__c: `req-${message}`,
      });
    // Published at once, so the channel holds many at a time; the repeats land in the same answers.
    for (const message of messages) publish(message);
    for (const message of messages.slice(0, 30)) publish(message);

    await vi.waitFor(
      () => {
        for (const message of messages) expect(tools.invocations.get(`echo:${message}`)).toBe(1);
      },
      { timeout: 60_000, interval: 200 },
    );
    const channel = (stack.worker as StartedWorker).salesforceChannels().find((c) => c.channel === CHANNEL);
    expect(channel?.eventsRejected ?? 0).toBe(0);

    // One process span per call (all ended once each call is done), each under an add span under a receive span.
    await vi.waitFor(() => expect(exporter.getFinishedSpans().filter(isProcess).length).toBeGreaterThanOrEqual(150), {
      timeout: 20_000,
      interval: 100,
    });
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const processed = spans.filter(isProcess);
    const traces = new Map<string, ReadableSpan[]>();
    for (const span of processed) {
      const added = byId.get(parentOf(span) ?? '');
      expect(added?.name).toBe('add tool-calls.caller-a.tool-call');
      const received = byId.get(parentOf(added as ReadableSpan) ?? '');
      expect(received?.name).toBe(`receive ${CHANNEL}`);
      const trace = span.spanContext().traceId;
      traces.set(trace, [...(traces.get(trace) ?? []), span]);
    }
    // Every call its own trace, from its own event: no group's calls share one. (A repeat that
    // arrives as its call finishes may queue a job that finds the call done, in its own trace, as
    // with one event at a time: the tool still runs once, above.)
    expect(traces.size).toBeGreaterThanOrEqual(150);
    for (const [trace, inTrace] of traces) {
      expect(inTrace).toHaveLength(1);
      expect(spans.filter((s) => s.spanContext().traceId === trace && s.name === `receive ${CHANNEL}`)).toHaveLength(1);
    }
    // Records written: one request per event alone; a few transactional batches in groups.
    const creates = spans.filter(
      (x) => x.name === 'POST' && String(x.attributes['url.full'] ?? '').includes('/colls/toolCalls/docs'),
    );
    if (batch === '1') expect(creates.length).toBeGreaterThanOrEqual(150);
    else expect(creates.length).toBeLessThan(60);
    // Nothing hangs a group's jobs under one event: no addBulk span.
    expect(spans.filter((s) => s.name.startsWith('addBulk'))).toEqual([]);
  }, 120_000);
});

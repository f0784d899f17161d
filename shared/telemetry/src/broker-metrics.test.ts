import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { BrokerMetrics } from './broker-metrics.ts';

class Reader extends MetricReader {
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

async function setup() {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  const metrics = new BrokerMetrics(provider.getMeter('test'), { callers: ['caller-a'] });
  const points = async (name: string) => {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []) as { attributes: Record<string, unknown>; value: unknown }[];
  };
  return { metrics, points };
}

const record = {
  caller: 'caller-a',
  tool: 'test_echo',
  status: 'failed',
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:02.000Z',
  completedAt: '2026-01-01T00:00:05.000Z',
  error: { code: 'UPSTREAM_UNAVAILABLE', deadLettered: true },
};

describe('BrokerMetrics', () => {
  it('counts a dead-lettered call as its own outcome and in dead letters, with its latencies', async () => {
    const { metrics, points } = await setup();
    metrics.callStarted(record);
    metrics.callFinished(record);
    expect(await points('mcpb_tool_calls')).toEqual([
      {
        attributes: { caller: 'caller-a', tool: 'test_echo', outcome: 'dead_lettered' },
        value: 1,
        startTime: expect.anything(),
        endTime: expect.anything(),
      },
    ]);
    expect((await points('mcpb_dead_letters'))[0]?.value).toBe(1);
    const wait = (await points('mcpb_call_queue_wait_seconds'))[0]?.value as { sum: number; count: number };
    expect(wait).toMatchObject({ sum: 2, count: 1 });
    const call = (await points('mcpb_call_duration_seconds'))[0]?.value as { sum: number };
    expect(call.sum).toBe(3);
  });

  it('reports a caller that is not configured as other, and a code that is not a catalog code as OTHER', async () => {
    const { metrics, points } = await setup();
    metrics.retry({ caller: 'tc_0123456789abcdef', tool: 'test_echo' }, 'free text: with spaces');
    expect((await points('mcpb_tool_call_retries'))[0]?.attributes).toEqual({
      caller: 'other',
      tool: 'test_echo',
      code: 'OTHER',
    });
  });

  it('counts write-back attempts by target type and result; failures say whether they will be retried', async () => {
    const { metrics, points } = await setup();
    metrics.writeBackAttempt(record, 'http-callback', 'pending');
    metrics.writeBackAttempt(record, 'http-callback', 'failed');
    metrics.writeBackAttempt(record, 'https://example.com/hook', 'delivered');
    const failures = await points('mcpb_write_back_failures');
    expect(failures.map((p) => p.attributes)).toEqual([
      { caller: 'caller-a', target: 'http-callback', final: 'false' },
      { caller: 'caller-a', target: 'http-callback', final: 'true' },
    ]);
    expect((await points('mcpb_call_written_back_seconds'))[0]?.attributes).toMatchObject({ target: 'other' });
  });

  it('records each accept group’s size by caller, an unconfigured caller as other', async () => {
    const { metrics, points } = await setup();
    metrics.acceptGroup('caller-a', 1);
    metrics.acceptGroup('caller-a', 100);
    metrics.acceptGroup('tc_not_configured', 7);
    const groups = await points('mcpb_accept_group_size');
    expect(groups.map((p) => [p.attributes, (p.value as { sum: number; count: number }).sum])).toEqual([
      [{ caller: 'caller-a' }, 101],
      [{ caller: 'other' }, 7],
    ]);
    expect(groups[0]?.value).toMatchObject({ count: 2 });
  });

  it('reads queue depth and the oldest waiting job per caller at collection; a failing queue is skipped', async () => {
    const { metrics, points } = await setup();
    metrics.observeQueues([
      { caller: 'caller-a', depth: async () => 3, oldestWaitingAt: async () => Date.now() - 10_000 },
      {
        caller: 'caller-b',
        depth: async () => {
          throw new Error('redis down');
        },
        oldestWaitingAt: async () => undefined,
      },
    ]);
    expect(await points('mcpb_queue_depth')).toMatchObject([{ attributes: { caller: 'caller-a' }, value: 3 }]);
    const age = (await points('mcpb_queue_oldest_waiting_age_seconds'))[0]?.value as number;
    expect(age).toBeGreaterThanOrEqual(9.9);
  });
});

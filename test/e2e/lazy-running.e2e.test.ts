import { randomUUID } from 'node:crypto';
import { ToolCallRepository } from '@mcp-broker/broker';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { defineTool } from '@mcp-broker/mcp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type BrokerStack, startBrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';
import { flakyTool, progressTool } from '../support/broker-test-tools.ts';

/**
 * The worker writes `running` only for a call that outlives `broker.runningWriteAfterMs`; a call
 * that ends sooner goes from queued to its outcome in one write. The threshold here is long (3 s)
 * so that "still within it" holds on a loaded machine; the record is read straight from the store.
 */
const THRESHOLD_MS = 3000;

/** Holds each invocation until the test releases it; counts starts and aborts. */
const gate = { started: 0, aborted: 0, release: [] as Array<() => void> };
const gatedTool = defineTool({
  name: 'test_gated',
  title: 'Gated',
  description: 'Waits for the test to release it.',
  inputSchema: z.object({ key: z.string() }),
  outputSchema: z.object({ released: z.boolean() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 60_000,
  handler: (_args, ctx) =>
    new Promise((resolve, reject) => {
      gate.started += 1;
      gate.release.push(() => resolve({ released: true }));
      ctx.signal.addEventListener('abort', () => {
        gate.aborted += 1;
        reject(ctx.signal.reason);
      });
    }),
});

let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let records: ToolCallRepository;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: [gatedTool, flakyTool, progressTool],
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    brokerSettings: { runningWriteAfterMs: THRESHOLD_MS },
  });
  records = new ToolCallRepository({ store: stack.store });
}, 60_000);

afterAll(async () => {
  for (const release of gate.release.splice(0)) release();
  await stack?.close();
  await receiver?.close();
}, 60_000);

async function submit(tool: string, args: unknown): Promise<string> {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: {
      authorization: stack.auth('caller-a'),
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ tool, arguments: args, writeBack: [{ type: 'http-callback', url: receiver.url('/lazy') }] }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function stored(id: string): Promise<ToolCallRecord> {
  const record = await records.get('caller-a', id);
  if (!record) throw new Error(`no record ${id}`);
  return record;
}

async function final(id: string): Promise<ToolCallRecord> {
  await expect
    .poll(async () => (await stored(id)).deliveries[0]?.status, { timeout: 30_000, interval: 100 })
    .toBe('delivered');
  return stored(id);
}

async function cancel(id: string): Promise<number> {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}/cancel`, {
    method: 'POST',
    headers: { authorization: stack.auth('caller-a') },
  });
  return res.status;
}

const statuses = (r: ToolCallRecord) => r.history.map((h) => h.status);
const callbacksFor = (id: string) => receiver.received.filter((c) => c.json.id === id);

describe('a cancel while the call runs, with the running write deferred', () => {
  it('before the threshold (record still queued): the call is aborted and the record ends cancelled, its start in the history', async () => {
    const before = { started: gate.started, aborted: gate.aborted };
    const id = await submit('test_gated', { key: randomUUID() });
    await expect.poll(() => gate.started, { timeout: 20_000 }).toBe(before.started + 1);
    // In flight, within the threshold: nothing written since ingress created it.
    expect(await stored(id)).toMatchObject({ status: 'queued', attempts: 0 });

    expect(await cancel(id)).toBe(200);
    const done = await final(id);
    expect(gate.aborted).toBe(before.aborted + 1);
    expect(done).toMatchObject({ status: 'cancelled', attempts: 1, cancelRequested: true });
    expect(statuses(done)).toEqual(['queued', 'running', 'cancelled']);
    expect(done.history[1]?.note).toBe('attempt 1');
    expect(done.startedAt).toBe(done.history[1]?.at);
    expect(callbacksFor(id).map((c) => c.json.status)).toEqual(['cancelled']);
  });

  it('after the threshold (record running): the call is aborted and ends cancelled', async () => {
    const before = { started: gate.started, aborted: gate.aborted };
    const id = await submit('test_gated', { key: randomUUID() });
    await expect.poll(() => gate.started, { timeout: 20_000 }).toBe(before.started + 1);
    await expect
      .poll(async () => (await stored(id)).status, { timeout: THRESHOLD_MS + 10_000, interval: 100 })
      .toBe('running');
    const running = await stored(id);
    expect(running.attempts).toBe(1);
    // The start is when the call began, not when the write was made.
    expect(Date.parse(running.updatedAt) - Date.parse(running.startedAt ?? '')).toBeGreaterThanOrEqual(
      THRESHOLD_MS - 50,
    );

    expect(await cancel(id)).toBe(200);
    const done = await final(id);
    expect(gate.aborted).toBe(before.aborted + 1);
    expect(done).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(statuses(done)).toEqual(['queued', 'running', 'cancelled']);
    expect(callbacksFor(id).map((c) => c.json.status)).toEqual(['cancelled']);
  });
});

describe('a call that ends within the threshold', () => {
  it('a transient failure is retried with the attempts counted although no running write was made', async () => {
    const id = await submit('test_flaky', { key: randomUUID(), failTimes: 1 });
    const done = await final(id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(statuses(done)).toEqual(['queued', 'running', 'queued', 'running', 'succeeded']);
    expect(done.history.map((h) => h.note ?? '')).toEqual([
      '',
      'attempt 1',
      expect.stringMatching(/will retry/),
      'attempt 2',
      '',
    ]);
    // startedAt is the first attempt's start.
    expect(done.startedAt).toBe(done.history[1]?.at);
    expect(callbacksFor(id)).toHaveLength(1);
  });

  it('a progress report writes running at once, so the progress is kept', async () => {
    const id = await submit('test_progress', { steps: 3 });
    const done = await final(id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, progress: { progress: 3, total: 3 } });
    expect(statuses(done)).toEqual(['queued', 'running', 'succeeded']);
  });

  it('is stored queued → succeeded in one write, the history showing the start', async () => {
    // Resolving a cancelled call's promise is harmless: only this call's resolver is wanted.
    gate.release.splice(0);
    const id = await submit('test_gated', { key: randomUUID() });
    await expect.poll(() => gate.release.length, { timeout: 20_000 }).toBe(1);
    expect((await stored(id)).status).toBe('queued');
    for (const release of gate.release.splice(0)) release();
    const done = await final(id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(statuses(done)).toEqual(['queued', 'running', 'succeeded']);
    expect(Date.parse(done.startedAt ?? '')).toBeLessThanOrEqual(Date.parse(done.completedAt ?? ''));
    expect(Date.parse(done.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
  });
});

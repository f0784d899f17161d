import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineTool } from '@mcp-broker/mcp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type BrokerStack, startBrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';

/** A tool that holds every invocation until the test opens the gate. */
const gate = { started: 0, open: false, waiters: [] as Array<() => void> };
const gatedTool = defineTool({
  name: 'test_gated',
  title: 'Gated',
  description: 'Waits for the test to open the gate.',
  inputSchema: z.object({ key: z.string() }),
  outputSchema: z.object({ invocation: z.number() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 120_000,
  handler: async (_args, ctx) => {
    gate.started += 1;
    const invocation = gate.started;
    if (!gate.open) {
      await new Promise<void>((resolve, reject) => {
        gate.waiters.push(resolve);
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
      });
    }
    return { invocation };
  },
});

const RUNNING_AFTER_MS = 4000;

let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let configPath: string;
const children: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['services/worker/src/main.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    // info level on stdout, so a test can see the worker begin to shut down.
    env: { ...process.env, ...stack.childWorkerEnv(configPath), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output.set(child, (output.get(child) ?? '') + chunk);
  });
  children.push(child);
  return child;
}
const output = new Map<ChildProcess, string>();

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: [gatedTool],
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    inProcessWorker: false,
    // A short lock, so the job of a killed worker is taken over quickly.
    workerEnv: { JOB_LOCK_MS: '2000' },
  });
  configPath = join(await mkdtemp(join(tmpdir(), 'mcpb-crash-')), 'broker.json');
  // The worker children mark a call running only after RUNNING_AFTER_MS: long enough that a kill
  // "within it" holds on a loaded machine.
  await writeFile(
    configPath,
    JSON.stringify({ ...stack.broker, broker: { ...stack.broker.broker, runningWriteAfterMs: RUNNING_AFTER_MS } }),
  );
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stack?.close();
  await receiver?.close();
});

async function submitGated(key: string, path: string): Promise<string> {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: {
      authorization: stack.auth('caller-a'),
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({
      tool: 'test_gated',
      arguments: { key },
      writeBack: [{ type: 'http-callback', url: receiver.url(path) }],
    }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function recordOf(id: string) {
  const r = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}`, {
    headers: { authorization: stack.auth('caller-a') },
  });
  return (await r.json()) as { status: string; attempts: number; deliveries: Array<{ status: string }> };
}

function closeGate() {
  gate.open = false;
  gate.started = 0;
}

function openGate() {
  gate.open = true;
  for (const w of gate.waiters.splice(0)) w();
}

async function killAll() {
  await Promise.all(
    children
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise((r) => c.once('exit', r).kill('SIGKILL'))),
  );
}

describe('a worker killed with SIGKILL mid-call', () => {
  it('before its running write: the call completes once after restart, the lost run counted, the callback delivered once', async () => {
    const first = startWorkerProcess();
    const id = await submitGated('crash', '/crash');

    await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(1);
    // Within the threshold: the record holds no trace of the run that is about to die.
    expect(await recordOf(id)).toMatchObject({ status: 'queued', attempts: 0 });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    startWorkerProcess();
    // The replacement takes the stalled job over once the dead worker's lock lapses.
    await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(2);
    openGate();

    let record:
      | { status: string; attempts: number; history: unknown[]; deliveries: Array<{ status: string }> }
      | undefined;
    await expect
      .poll(
        async () => {
          const r = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}?wait=10`, {
            headers: { authorization: stack.auth('caller-a') },
          });
          record = (await r.json()) as typeof record;
          return record?.deliveries[0]?.status;
        },
        { timeout: 60_000, interval: 200 },
      )
      .toBe('delivered');
    expect(record).toMatchObject({ status: 'succeeded', attempts: 2 });
    const callbacks = receiver.received.filter((c) => c.json.id === id);
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]?.json.status).toBe('succeeded');
  }, 120_000);
});

describe('a worker killed with SIGKILL after its running write', () => {
  it('the next run counts a second attempt; the call completes once with one callback', async () => {
    await killAll();
    closeGate();
    const first = startWorkerProcess();
    const id = await submitGated('crash-running', '/crash-running');
    await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(1);
    await expect
      .poll(async () => (await recordOf(id)).status, { timeout: RUNNING_AFTER_MS + 20_000, interval: 200 })
      .toBe('running');
    expect((await recordOf(id)).attempts).toBe(1);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    startWorkerProcess();
    await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(2);
    openGate();
    await expect
      .poll(async () => (await recordOf(id)).deliveries[0]?.status, { timeout: 60_000, interval: 200 })
      .toBe('delivered');
    expect(await recordOf(id)).toMatchObject({ status: 'succeeded', attempts: 2 });
    const callbacks = receiver.received.filter((c) => c.json.id === id);
    expect(callbacks.map((c) => c.json.status)).toEqual(['succeeded']);
  }, 120_000);
});

describe('a worker killed before its running write, again and again until the queue gives up', () => {
  it('dead-letters the call with the runs the queue started as its attempts, and one callback', async () => {
    await killAll();
    closeGate();
    const id = await submitGated('crash-stalls', '/crash-stalls');
    // BullMQ fails a job that stalls more than maxStalledCount (3) times: four runs, each killed
    // within the threshold, so the record never hears of them.
    for (let run = 1; run <= 4; run++) {
      const worker = startWorkerProcess();
      await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(run);
      expect(await recordOf(id)).toMatchObject({ status: 'queued', attempts: 0 });
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
    }
    // The next worker takes the job only to fail it (that activation runs nothing).
    startWorkerProcess();
    await expect
      .poll(async () => (await recordOf(id)).deliveries[0]?.status, { timeout: 60_000, interval: 200 })
      .toBe('delivered');
    expect(await recordOf(id)).toMatchObject({
      status: 'failed',
      attempts: 4,
      error: { code: 'BROKER_WORKER_ABANDONED', deadLettered: true },
    });
    expect(gate.started).toBe(4);
    expect(receiver.received.filter((c) => c.json.id === id).map((c) => c.json.status)).toEqual(['failed']);
  }, 180_000);
});

describe('a worker stopped with SIGTERM', () => {
  it('drains: finishes the call in hand, takes no new job, exits 0; the next worker runs the queued one', async () => {
    // Only the worker under test may take jobs.
    await killAll();
    closeGate();
    const worker = startWorkerProcess();
    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    const inHand = await submitGated('drain-in-hand', '/drain');
    await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(1);

    worker.kill('SIGTERM');
    await expect.poll(() => output.get(worker) ?? '', { timeout: 30_000 }).toContain('shutting down');
    // Submitted once the worker drains: it must leave this one on the queue.
    const queued = await submitGated('drain-queued', '/drain');
    openGate();
    expect(await exited).toBe(0);

    // The call in hand finished on the first attempt, in the draining worker, with its callback.
    expect(await recordOf(inHand)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      deliveries: [{ status: 'delivered' }],
    });
    expect(gate.started).toBe(1);
    expect((await recordOf(queued)).status).toBe('queued');

    startWorkerProcess();
    await expect
      .poll(async () => (await recordOf(queued)).deliveries[0]?.status, { timeout: 60_000, interval: 200 })
      .toBe('delivered');
    expect(await recordOf(queued)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(receiver.received.filter((c) => c.json.id === inHand)).toHaveLength(1);
    expect(receiver.received.filter((c) => c.json.id === queued)).toHaveLength(1);
  }, 120_000);
});

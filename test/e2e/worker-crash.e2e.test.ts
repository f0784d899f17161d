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

let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let configPath: string;
const children: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['services/worker/src/main.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...process.env, ...stack.childWorkerEnv(configPath) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

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
  await writeFile(configPath, JSON.stringify(stack.broker));
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stack?.close();
  await receiver?.close();
});

describe('a worker killed with SIGKILL mid-call', () => {
  it('loses nothing: the call completes once after restart and the callback is delivered once', async () => {
    const first = startWorkerProcess();
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
      method: 'POST',
      headers: {
        authorization: stack.auth('caller-a'),
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({
        tool: 'test_gated',
        arguments: { key: 'crash' },
        writeBack: [{ type: 'http-callback', url: receiver.url('/crash') }],
      }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(1);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    startWorkerProcess();
    // The replacement takes the stalled job over once the dead worker's lock lapses.
    await expect.poll(() => gate.started, { timeout: 30_000 }).toBe(2);
    gate.open = true;
    for (const w of gate.waiters.splice(0)) w();

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

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

/**
 * What the broker promises a write-back target: at least once, every attempt counted on the
 * record before it is sent, the same Idempotency-Key on every attempt, and an attempt whose end
 * the broker never learned (a crash, a timeout) counted as unconfirmed.
 */

interface Received {
  path: string;
  key: string;
  body: string;
  headers: IncomingHttpHeaders;
}

let stack: BrokerStack;
let configPath: string;
let server: Server;
let host: string;
let worker: ChildProcess | undefined;
const received: Received[] = [];
/** Per path: what the receiver does before answering 200 (by how many times the path was hit). */
const behaviour = new Map<string, (n: number) => Promise<void> | void>();

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['services/worker/src/main.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...process.env, ...stack.childWorkerEnv(configPath) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  worker = child;
  return child;
}

async function killWorker(child: ChildProcess | undefined) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', async () => {
      const path = req.url ?? '';
      received.push({ path, key: String(req.headers['idempotency-key']), body, headers: req.headers });
      const n = received.filter((r) => r.path === path).length;
      await behaviour.get(path)?.(n);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: host,
    roles: ['Test.Echo'],
    inProcessWorker: false,
    // A short lock, so a killed worker's job is taken over quickly; a short inline budget, so a
    // receiver slower than it is quick to test.
    workerEnv: { JOB_LOCK_MS: '2000', INLINE_WRITE_BACK_TIMEOUT_MS: '2000' },
  });
  configPath = join(await mkdtemp(join(tmpdir(), 'mcpb-wb-')), 'broker.json');
  await writeFile(configPath, JSON.stringify(stack.broker));
}, 60_000);

afterAll(async () => {
  await killWorker(worker);
  await stack?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
}, 60_000);

async function submit(path: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: {
      authorization: stack.auth('caller-a'),
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({
      tool: 'test_echo',
      arguments: { message: `wb-${randomUUID().slice(0, 8)}` },
      writeBack: [{ type: 'http-callback', url: `http://${host}${path}`, ...extra }],
    }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function deliveryOf(id: string) {
  const { resource } = await stack.store.container('toolCalls').item(id, 'caller-a').read<ToolCallRecord>();
  return resource?.deliveries[0];
}

describe('a worker killed right after the receiver answered 200', () => {
  it('sends again with the same Idempotency-Key, and the record counts both attempts, one unconfirmed', async () => {
    const path = `/kill-${randomUUID().slice(0, 8)}`;
    const first = startWorkerProcess();
    // The receiver has the body; the worker dies before it can record the answer.
    behaviour.set(path, async (n) => {
      if (n === 1) await killWorker(first);
    });
    const id = await submit(path);
    await expect.poll(() => first.signalCode, { timeout: 20_000 }).toBe('SIGKILL');
    expect(await deliveryOf(id)).toMatchObject({ status: 'attempting', attempts: 1 });

    startWorkerProcess();
    await expect.poll(async () => (await deliveryOf(id))?.status, { timeout: 30_000, interval: 200 }).toBe('delivered');
    expect(await deliveryOf(id)).toMatchObject({ status: 'delivered', attempts: 2, unconfirmedAttempts: 1 });

    const hits = received.filter((r) => r.path === path);
    expect(hits).toHaveLength(2);
    expect(hits[1]?.key).toBe(hits[0]?.key);
    expect(hits[1]?.key).toBe(`${id}.wb0`);
    expect(hits[1]?.body).toBe(hits[0]?.body);

    const view = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}`, {
      headers: { authorization: stack.auth('caller-a') },
    }).then((r) => r.json() as Promise<{ deliveries: unknown[] }>);
    expect(view.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 2, unconfirmedAttempts: 1 });
  }, 90_000);
});

describe('a receiver slower than the broker’s default wait', () => {
  beforeAll(async () => {
    await killWorker(worker);
    startWorkerProcess();
  });

  it('gets one delivery when the target’s timeoutMs covers it', async () => {
    const path = `/slow-${randomUUID().slice(0, 8)}`;
    behaviour.set(path, () => new Promise((r) => setTimeout(r, 3000)));
    const id = await submit(path, { timeoutMs: 6000 });
    await expect.poll(async () => (await deliveryOf(id))?.status, { timeout: 30_000, interval: 200 }).toBe('delivered');
    expect(await deliveryOf(id)).toMatchObject({ attempts: 1 });
    expect((await deliveryOf(id))?.unconfirmedAttempts ?? 0).toBe(0);
    // Give a wrongly cut-off attempt time to be retried before counting.
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.filter((r) => r.path === path)).toHaveLength(1);
  }, 40_000);

  it('an attempt that timed out is recorded as possibly delivered, and the retry carries the same key', async () => {
    const path = `/timeout-${randomUUID().slice(0, 8)}`;
    behaviour.set(path, (n) => (n === 1 ? new Promise((r) => setTimeout(r, 2500)) : undefined));
    const id = await submit(path, { timeoutMs: 1000 });
    await expect.poll(async () => (await deliveryOf(id))?.status, { timeout: 30_000, interval: 200 }).toBe('delivered');
    expect(await deliveryOf(id)).toMatchObject({
      status: 'delivered',
      attempts: 2,
      unconfirmedAttempts: 1,
      lastError: { code: 'CALLBACK_TIMEOUT' },
    });
    const hits = received.filter((r) => r.path === path);
    expect(hits).toHaveLength(2);
    expect(hits[1]?.key).toBe(hits[0]?.key);
  }, 40_000);
});

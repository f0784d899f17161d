import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import type { StartedWorker } from '@mcp-broker/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, REDIS_URL, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools, invocations } from '../support/broker-test-tools.ts';

/**
 * The record is the source of truth: a call whose record outlived its jobs (Redis lost its data),
 * or whose jobs outlived its record (retention, a store loss), still runs.
 */

/** A receiver that asks the first delivery of each call to come back in a minute. */
async function startSlowToAcceptReceiver() {
  const seen = new Map<string, number>();
  const delivered: { key: string; id: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (n === 1) {
        res.writeHead(503, { 'retry-after': '60' }).end();
        return;
      }
      delivered.push({ key, id: (JSON.parse(body) as { id: string }).id });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: (path: string) => `http://${host}${path}`,
    seen,
    delivered,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startSlowToAcceptReceiver>>;

beforeAll(async () => {
  receiver = await startSlowToAcceptReceiver();
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    inProcessWorker: false,
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
}, 60_000);

async function submit(body: unknown, key: string = randomUUID()) {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: { authorization: stack.auth('caller-a'), 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { id: string; status: string } };
}

function stored(id: string): Promise<ToolCallRecord | undefined> {
  return stack.store
    .container('toolCalls')
    .item(id, 'caller-a')
    .read<ToolCallRecord>()
    .then((r) => r.resource);
}

/** Deletes every Redis key of this stack, as a failover to a replica that had none of them would. */
async function loseRedisData() {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${stack.prefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

describe('a key reused after its record is gone', () => {
  let worker: StartedWorker;
  beforeAll(async () => {
    worker = await stack.startWorkerReplica();
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('starts a new call that runs, although the old call’s completed job is still in Redis', async () => {
    const key = randomUUID();
    const message = `reborn-${randomUUID().slice(0, 8)}`;
    const body = { tool: 'test_echo', arguments: { message } };
    const first = await submit(body, key);
    expect(first.status).toBe(202);
    await expect.poll(async () => (await stored(first.json.id))?.status, { timeout: 15_000 }).toBe('succeeded');

    // What TOOL_CALL_RETENTION_DAYS (Cosmos TTL) or a store loss does to the record.
    await stack.store.container('toolCalls').item(first.json.id, 'caller-a').delete();

    const second = await submit(body, key);
    expect(second.status).toBe(202);
    expect(second.json.id).toBe(first.json.id);
    await expect.poll(async () => (await stored(first.json.id))?.status, { timeout: 15_000 }).toBe('succeeded');
    expect(await stored(first.json.id)).toMatchObject({
      attempts: 1,
      result: { structuredContent: { invocation: 2 } },
    });
    expect(invocations.get(`echo:${message}`)).toBe(2);
  }, 40_000);
});

describe('Redis losing its data', () => {
  it('strands nothing: calls queued and write-backs waiting to be retried are queued again from their records', async () => {
    // A write-back the receiver asked to come back for in a minute: its job waits in Redis.
    const delivery = await submit({
      tool: 'test_echo',
      arguments: { message: `wb-${randomUUID().slice(0, 8)}` },
      writeBack: [{ type: 'http-callback', url: receiver.url('/later') }],
    });
    const replica = await stack.startWorkerReplica();
    await expect
      .poll(async () => (await stored(delivery.json.id))?.deliveries[0]?.lastError?.code, { timeout: 15_000 })
      .toBe('CALLBACK_RETRYABLE_STATUS');
    await replica.close();

    // Accepted while no worker runs: their jobs exist only in Redis.
    const accepted = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        submit({ tool: 'test_echo', arguments: { message: `lost-${i}-${randomUUID().slice(0, 8)}` } }),
      ),
    );
    expect(accepted.map((a) => a.status)).toEqual(accepted.map(() => 202));

    await loseRedisData();

    const started = Date.now();
    const worker = await stack.startWorkerReplica({ RECONCILE_GRACE_SECONDS: '1', RECONCILE_INTERVAL_SECONDS: '1' });
    try {
      await expect
        .poll(
          async () => {
            const records = await Promise.all(accepted.map((a) => stored(a.json.id)));
            return records.filter((r) => r?.status === 'succeeded').length;
          },
          { timeout: 30_000, interval: 500 },
        )
        .toBe(accepted.length);
      // Well before the receiver's minute: the lost delayed job was queued again from the record.
      await expect
        .poll(async () => (await stored(delivery.json.id))?.deliveries[0]?.status, { timeout: 20_000, interval: 500 })
        .toBe('delivered');
      expect(Date.now() - started).toBeLessThan(45_000);
      expect(receiver.delivered.filter((d) => d.id === delivery.json.id)).toHaveLength(1);
      const status = await worker.status();
      expect(status.reconciled).toMatchObject({ toolCalls: accepted.length, writeBacks: 1 });
    } finally {
      await worker.close();
    }
  }, 90_000);
});

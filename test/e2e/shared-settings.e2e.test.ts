import { randomUUID } from 'node:crypto';
import { bullPrefix, toolCallJobId, toolCallQueueName } from '@mcp-broker/broker';
import { ConfigError } from '@mcp-broker/runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

let stack: BrokerStack;
let redis: Redis;

beforeAll(async () => {
  stack = await startBrokerStack({ tools: brokerTestTools, callbackHost: '127.0.0.1', roles: ['Test.Echo'] });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.close();
});

describe('settings both services share (broker: in the broker configuration file)', () => {
  it('ingress and the worker run with the same values, the file’s, with no environment variable set', () => {
    expect(stack.broker.broker).toEqual({
      keyPrefix: stack.prefix,
      toolCallAttempts: 4,
      writeBackAttempts: 4,
      retentionDays: 30,
      runningWriteAfterMs: 250,
    });
    expect(stack.ingress.settings).toEqual(stack.broker.broker);
    expect(stack.worker?.settings).toEqual(stack.broker.broker);
  });

  it('a call submitted to ingress is queued under the file’s key prefix with the file’s attempts, and the worker runs it', async () => {
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
      method: 'POST',
      headers: {
        authorization: stack.auth('caller-a'),
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ tool: 'test_echo', arguments: { message: 'shared settings' } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const jobKey = `${bullPrefix(stack.prefix)}:${toolCallQueueName('caller-a')}:${toolCallJobId(id)}`;
    const opts = JSON.parse((await redis.hget(jobKey, 'opts')) ?? '{}') as { attempts?: number };
    expect(opts.attempts).toBe(4);
    const deadline = Date.now() + 20_000;
    let status = '';
    while (Date.now() < deadline) {
      const r = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}`, {
        headers: { authorization: stack.auth('caller-a') },
      });
      status = ((await r.json()) as { status: string }).status;
      if (status === 'succeeded' || status === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('succeeded');
  });

  it('a deprecated variable still wins over the file for one release', async () => {
    const replica = await stack.startWorkerReplica({ WRITE_BACK_ATTEMPTS: '6' });
    try {
      expect(replica.settings).toEqual({ ...stack.broker.broker, writeBackAttempts: 6 });
    } finally {
      await replica.close();
    }
  });

  it('an invalid deprecated variable stops the start, naming it', async () => {
    await expect(stack.startWorkerReplica({ TOOL_CALL_ATTEMPTS: '0' })).rejects.toThrow(ConfigError);
    await expect(stack.startWorkerReplica({ TOOL_CALL_ATTEMPTS: '0' })).rejects.toThrow(/TOOL_CALL_ATTEMPTS/);
  });
});

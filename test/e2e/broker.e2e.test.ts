import { randomUUID } from 'node:crypto';
import { SIGNATURE_HEADER, toolCallId, verifyCallbackSignature } from '@mcp-broker/broker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrokerStack,
  CALLBACK_SECRET,
  settledCall,
  startBrokerStack,
  startCallbackReceiver,
} from '../support/broker-stack.ts';
import { brokerTestTools, invocations, waits } from '../support/broker-test-tools.ts';

let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    perTool: { test_limited: { points: 1, windowSeconds: 2 } },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
}, 60_000);

type Caller = 'caller-a' | 'caller-b' | 'admin';

async function submit(body: unknown, options: { caller?: Caller; key?: string | null; raw?: string } = {}) {
  const key = options.key === undefined ? randomUUID() : options.key;
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: {
      authorization: stack.auth(options.caller ?? 'caller-a'),
      'content-type': 'application/json',
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: options.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as Json, key };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
type Json = any;

async function get(id: string, options: { caller?: Caller } = {}): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}`, {
    headers: { authorization: stack.auth(options.caller ?? 'caller-a') },
  });
  return { status: res.status, json: await res.json() };
}

/** Waits (server-side, via ?wait) until the call is final. */
const settled = (id: string, caller: Caller = 'caller-a'): Promise<Json> => settledCall<Json>(stack, id, caller);

const callbacksFor = (id: string) => receiver.received.filter((c) => c.json.id === id);

describe('asynchronous tool calls end to end', () => {
  it('202, queue, MCP call on the caller’s behalf, result stored, one signed callback', async () => {
    const res = await submit({
      tool: 'test_echo',
      arguments: { message: 'happy-path' },
      writeBack: [{ type: 'http-callback', url: receiver.url('/happy') }],
    });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ status: 'queued', id: expect.stringMatching(/^tc_/) });
    expect(res.headers.get('location')).toBe(res.json.statusUrl);
    // Ingress listens on port 0 here: the link names the port it was given.
    expect(res.json.statusUrl).toBe(`${stack.ingressUrl}/v1/tool-calls/${res.json.id}`);
    const done = await settled(res.json.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { structuredContent: { echoed: 'happy-path', invocation: 1 } },
    });
    await expect.poll(() => callbacksFor(res.json.id).length, { timeout: 10_000 }).toBe(1);
    const cb = callbacksFor(res.json.id)[0]!;
    expect(verifyCallbackSignature(cb.body, cb.headers[SIGNATURE_HEADER] as string, CALLBACK_SECRET)).toBe(true);
    expect(cb.json).toMatchObject({ status: 'succeeded', result: { structuredContent: { echoed: 'happy-path' } } });
    await expect
      .poll(async () => (await get(res.json.id)).json.deliveries[0].status, { timeout: 10_000 })
      .toBe('delivered');
  });

  it('the MCP server’s audit record names the broker’s call and carries the caller’s trace', async () => {
    const traceId = randomUUID().replaceAll('-', '');
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
      method: 'POST',
      headers: {
        authorization: stack.auth('caller-a'),
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ tool: 'test_echo', arguments: { message: `audited-${randomUUID()}` } }),
    });
    const { id } = (await res.json()) as { id: string };
    expect((await settled(id)).status).toBe('succeeded');
    await stack.mcp.audit.flush();
    const { resources } = await stack.store
      .container('audit')
      .items.query({ query: 'SELECT * FROM c WHERE c.brokerCallId = @id', parameters: [{ name: '@id', value: id }] })
      .fetchAll();
    expect(resources).toHaveLength(1);
    // As the caller's own upstream identity, with the trace the submission carried.
    expect(resources[0]).toMatchObject({ subject: 'broker-for-a', tool: 'test_echo', outcome: 'success', traceId });
  });

  it('the same idempotency key twice is one tool call and one callback', async () => {
    const key = randomUUID();
    const body = {
      tool: 'test_echo',
      arguments: { message: 'redelivered' },
      writeBack: [{ type: 'http-callback', url: receiver.url('/redelivery') }],
    };
    const first = await submit(body, { key });
    const second = await submit(body, { key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.json.id).toBe(first.json.id);
    await settled(first.json.id);
    const third = await submit(body, { key });
    expect(third.json).toMatchObject({ id: first.json.id, status: 'succeeded' });
    await expect.poll(() => callbacksFor(first.json.id).length, { timeout: 10_000 }).toBe(1);
    expect(invocations.get('echo:redelivered')).toBe(1);
  });

  it('a callback that fails is retried by a write-back job without calling the tool again', async () => {
    receiver.failNext(503, 502);
    const message = `retried-callback-${randomUUID()}`;
    const res = await submit({
      tool: 'test_echo',
      arguments: { message },
      writeBack: [{ type: 'http-callback', url: receiver.url('/retried') }],
    });
    await expect
      .poll(async () => (await get(res.json.id)).json.deliveries[0].status, { timeout: 15_000 })
      .toBe('delivered');
    const { json } = await get(res.json.id);
    expect(json).toMatchObject({ status: 'succeeded', attempts: 1 });
    // First attempt by the tool-call job, two more by the write-back job.
    expect(json.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(invocations.get(`echo:${message}`)).toBe(1);
    expect(callbacksFor(res.json.id)).toHaveLength(1);
  });

  it('a callback refused with 4xx fails for good and is not retried', async () => {
    receiver.failNext(410);
    const res = await submit({
      tool: 'test_echo',
      arguments: { message: `gone-${randomUUID()}` },
      writeBack: [{ type: 'http-callback', url: receiver.url('/gone') }],
    });
    await expect
      .poll(async () => (await get(res.json.id)).json.deliveries[0].status, { timeout: 15_000 })
      .toBe('failed');
    const { json } = await get(res.json.id);
    expect(json.status).toBe('succeeded');
    expect(json.deliveries[0].attempts).toBe(1);
    expect(json.deliveries[0].lastError.code).toMatch(/410|CALLBACK/);
    expect(callbacksFor(res.json.id)).toHaveLength(0);
  });

  it('a request while another with the same Idempotency-Key is being accepted → 409, nothing stored', async () => {
    const key = randomUUID();
    // What the first request holds while it records and enqueues.
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      await redis.set(`${stack.prefix}idem:${toolCallId('caller-a', key)}`, 'first-request', 'PX', 15_000);
      const res = await submit({ tool: 'test_echo', arguments: { message: 'concurrent' } }, { key });
      expect(res.status).toBe(409);
      expect(res.json.error).toMatchObject({ code: 'BROKER_IDEMPOTENCY_IN_PROGRESS' });
      expect(res.json.error.requestId).toBeTruthy();
      const stored = await stack.store.container('toolCalls').item(toolCallId('caller-a', key), 'caller-a').read();
      expect(stored.resource).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });

  it('progress reported by the tool is visible on the record', async () => {
    const res = await submit({ tool: 'test_progress', arguments: { steps: 3 } });
    const done = await settled(res.json.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress).toMatchObject({ progress: 3, total: 3 });
  });

  it('a tool error is final: failed with the reason, not retried, and written back', async () => {
    const key = randomUUID();
    const res = await submit({
      tool: 'test_fail',
      arguments: { key },
      writeBack: [{ type: 'http-callback', url: receiver.url('/fail') }],
    });
    const done = await settled(res.json.id);
    expect(done).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'TOOL_ERROR', message: 'This tool always fails; the reason is recorded.' },
    });
    expect(invocations.get(`fail:${key}`)).toBe(1);
    await expect.poll(() => callbacksFor(res.json.id)[0]?.json.status, { timeout: 10_000 }).toBe('failed');
  });

  it('an upstream 5xx-class failure is retried with backoff, then succeeds', async () => {
    const key = randomUUID();
    const res = await submit({ tool: 'test_flaky', arguments: { key, failTimes: 2 } });
    const done = await settled(res.json.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      result: { structuredContent: { succeededOnInvocation: 3 } },
    });
  });

  it('exhausted retries land in the dead letters; an admin replays it to success', async () => {
    const key = randomUUID();
    // Four attempts are allowed; five failures exhaust them, the replay's first attempt succeeds.
    const res = await submit({ tool: 'test_flaky', arguments: { key, failTimes: 4 } });
    const dead = await settled(res.json.id);
    expect(dead).toMatchObject({ status: 'failed', error: { deadLettered: true } });
    expect(dead.error.message).toMatch(/gave up after 4 attempts/);

    const forbidden = await fetch(`${stack.ingressUrl}/v1/dead-letters`, {
      headers: { authorization: stack.auth('caller-a') },
    });
    expect(forbidden.status).toBe(403);
    const list = await fetch(`${stack.ingressUrl}/v1/dead-letters`, {
      headers: { authorization: stack.auth('admin') },
    });
    expect(((await list.json()) as { items: Array<{ id: string }> }).items.map((i) => i.id)).toContain(res.json.id);

    const replay = await fetch(`${stack.ingressUrl}/v1/dead-letters/${res.json.id}/replay`, {
      method: 'POST',
      headers: { authorization: stack.auth('admin') },
    });
    expect(replay.status).toBe(202);
    const revived = await settled(res.json.id);
    expect(revived).toMatchObject({ status: 'succeeded', result: { structuredContent: { succeededOnInvocation: 5 } } });
  });

  it('429 with Retry-After from the MCP server is honoured without spending attempts', async () => {
    const a = await submit({ tool: 'test_limited', arguments: { message: `first-${randomUUID()}` } });
    const b = await submit({ tool: 'test_limited', arguments: { message: `second-${randomUUID()}` } });
    const [da, db] = [await settled(a.json.id), await settled(b.json.id)];
    expect(da.status).toBe('succeeded');
    expect(db.status).toBe('succeeded');
    // One of the two met the limit, waited for Retry-After, and still used one attempt only.
    expect(da.attempts + db.attempts).toBe(2);
  });

  it('cancelling a running call aborts the tool through MCP cancellation', async () => {
    const started = waits.started;
    const aborted = waits.aborted;
    const res = await submit({ tool: 'test_wait', arguments: { key: randomUUID() } });
    await expect.poll(() => waits.started, { timeout: 10_000 }).toBe(started + 1);
    const cancel = await fetch(`${stack.ingressUrl}/v1/tool-calls/${res.json.id}/cancel`, {
      method: 'POST',
      headers: { authorization: stack.auth('caller-a') },
    });
    expect(cancel.status).toBe(200);
    const done = await settled(res.json.id);
    expect(done.status).toBe('cancelled');
    await expect.poll(() => waits.aborted, { timeout: 10_000 }).toBe(aborted + 1);
    const again = await fetch(`${stack.ingressUrl}/v1/tool-calls/${res.json.id}/cancel`, {
      method: 'POST',
      headers: { authorization: stack.auth('caller-a') },
    });
    expect(again.status).toBe(409);
  });

  it('a caller sees and cancels only its own calls (404 for others’)', async () => {
    const res = await submit({ tool: 'test_echo', arguments: { message: 'private' } });
    expect((await get(res.json.id, { caller: 'caller-b' })).status).toBe(404);
    const cancel = await fetch(`${stack.ingressUrl}/v1/tool-calls/${res.json.id}/cancel`, {
      method: 'POST',
      headers: { authorization: stack.auth('caller-b') },
    });
    expect(cancel.status).toBe(404);
    const list = await fetch(`${stack.ingressUrl}/v1/tool-calls?limit=100`, {
      headers: { authorization: stack.auth('caller-b') },
    });
    const ids = ((await list.json()) as { items: Array<{ id: string }> }).items.map((i) => i.id);
    expect(ids).not.toContain(res.json.id);
  });
});

describe('fairness and limits across replicas', () => {
  it('a caller flooding its queue neither starves another caller nor exceeds its concurrency on two workers', async () => {
    const { startWorker, workerConfigSchema } = await import('@mcp-broker/worker');
    const { createLogger, loadConfig } = await import('@mcp-broker/runtime');
    const second = await startWorker(
      loadConfig(workerConfigSchema, {
        BROKER_CONFIG: '-',
        REDIS_URL: process.env.REDIS_URL,
      }),
      stack.broker,
      createLogger({ name: 'second', level: 'silent' }),
      { store: stack.store, env: stack.env },
    );
    try {
      const running = () => waits.started - waits.aborted;
      const before = running();
      const flood = await Promise.all(
        Array.from({ length: 12 }, () => submit({ tool: 'test_wait', arguments: { key: randomUUID() } })),
      );
      // caller-a's concurrency is 4 in total, however many workers consume its queue.
      await expect.poll(running, { timeout: 10_000 }).toBe(before + 4);
      const other = await submit(
        { tool: 'test_echo', arguments: { message: `not-starved-${randomUUID()}` } },
        { caller: 'caller-b' },
      );
      const done = await settled(other.json.id, 'caller-b');
      expect(done.status).toBe('succeeded');
      expect(running()).toBe(before + 4);
      for (const f of flood) {
        await fetch(`${stack.ingressUrl}/v1/tool-calls/${f.json.id}/cancel`, {
          method: 'POST',
          headers: { authorization: stack.auth('caller-a') },
        });
      }
      await expect.poll(running, { timeout: 20_000 }).toBe(before);
    } finally {
      await second.close();
    }
  }, 60_000);
});

describe('bad input gets a clear 4xx and nothing is stored or queued', () => {
  async function nothingStoredFor(key: string | null) {
    const list = await fetch(`${stack.ingressUrl}/v1/tool-calls?limit=100`, {
      headers: { authorization: stack.auth('caller-a') },
    });
    const items = ((await list.json()) as { items: Array<{ id: string }> }).items;
    return key ? items.every((i) => !i.id.includes(key)) : true;
  }

  it.each([
    ['malformed JSON', { raw: '{"tool": ' }, 400, 'BROKER_MALFORMED_JSON', /not valid JSON/],
    [
      'missing idempotency key',
      { body: { tool: 'test_echo', arguments: { message: 'x' } }, key: null },
      400,
      'BROKER_IDEMPOTENCY_KEY_MISSING',
      /Idempotency-Key/,
    ],
    ['unknown tool', { body: { tool: 'no_such_tool', arguments: {} } }, 404, 'BROKER_TOOL_NOT_FOUND', /no_such_tool/],
    [
      'arguments failing the tool schema',
      { body: { tool: 'test_echo', arguments: { message: 7 } } },
      400,
      'BROKER_INVALID_ARGUMENTS',
      /message/,
    ],
    ['missing tool field', { body: { arguments: {} } }, 400, 'BROKER_VALIDATION_FAILED', /tool/],
    [
      'callback host outside the allowlist',
      {
        body: {
          tool: 'test_echo',
          arguments: { message: 'x' },
          writeBack: [{ type: 'http-callback', url: 'https://evil.example/cb' }],
        },
      },
      400,
      'BROKER_CALLBACK_NOT_ALLOWED',
      /writeBack\[0\]\.url.*allowlist/,
    ],
    [
      'a callback target without its url',
      { body: { tool: 'test_echo', arguments: { message: 'x' }, writeBack: [{ type: 'http-callback' }] } },
      400,
      'BROKER_VALIDATION_FAILED',
      /body\.writeBack\[0\]\.url/,
    ],
    [
      'a Salesforce target in an org not connected for the caller',
      {
        body: {
          tool: 'test_echo',
          arguments: { message: 'x' },
          writeBack: [{ type: 'salesforce-result', org: 'someone-elses-org' }],
        },
      },
      400,
      'BROKER_WRITE_BACK_NOT_ALLOWED',
      /writeBack\[0\]\.org.*someone-elses-org/,
    ],
    [
      'a Salesforce record target with a malformed record id',
      {
        body: {
          tool: 'test_echo',
          arguments: { message: 'x' },
          writeBack: [
            {
              type: 'salesforce-record',
              org: 'x',
              sobject: 'Opportunity',
              recordId: 'nope',
              fields: { A__c: 'status' },
            },
          ],
        },
      },
      400,
      'BROKER_VALIDATION_FAILED',
      /body\.writeBack\[0\]\.recordId/,
    ],
    [
      'oversized body',
      { raw: JSON.stringify({ tool: 'test_echo', arguments: { message: 'x'.repeat(2_000_000) } }) },
      413,
      'BROKER_BODY_TOO_LARGE',
      /limit/,
    ],
  ])('%s → %s %s', async (_name, input, status, code, message) => {
    const opts = input as { raw?: string; body?: unknown; key?: string | null };
    const res = await submit(opts.body ?? {}, {
      ...(opts.raw ? { raw: opts.raw } : {}),
      ...(opts.key === null ? { key: null } : {}),
    });
    expect(res.status).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.message).toMatch(message);
    expect(res.json.error.requestId).toBeTruthy();
    expect(await nothingStoredFor(res.key)).toBe(true);
  });

  it('a tool outside the caller’s allowlist → 403', async () => {
    const res = await submit({ tool: 'test_flaky', arguments: { key: 'k', failTimes: 0 } }, { caller: 'caller-b' });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('BROKER_TOOL_NOT_ALLOWED');
  });

  it('the same key with a different body → 422', async () => {
    const key = randomUUID();
    await submit({ tool: 'test_echo', arguments: { message: 'one' } }, { key });
    const res = await submit({ tool: 'test_echo', arguments: { message: 'two' } }, { key });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe('BROKER_IDEMPOTENCY_KEY_REUSED');
  });

  it('wrong credentials → 401 naming the problem', async () => {
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
      headers: { authorization: `Basic ${Buffer.from('caller-a:wrong').toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/wrong password/);
  });
});

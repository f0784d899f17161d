import { Writable } from 'node:stream';
import { createLogger } from '@mcp-broker/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type Replica, startHarness } from '../../test-support/mcp-test-harness.ts';

// What the governed server writes per request: the request id and the caller on every line of an
// authenticated request, each request its own caller (the subject is bound to the request's own
// logger, never to a shared one), and never the caller's token.
let h: Harness;
let replica: Replica;
const lines: Array<Record<string, unknown>> = [];
let raw = '';

beforeAll(async () => {
  h = await startHarness();
  const destination = new Writable({
    write(chunk, _enc, cb) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      cb();
    },
  });
  replica = await h.startReplica({ logger: createLogger({ name: 'mcp-server-log-test', destination }) });
});
afterAll(async () => {
  await h.close();
});

async function post(body: unknown, token: string | undefined, requestId: string) {
  const res = await fetch(`${replica.url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      'x-request-id': requestId,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

const call = (name: string, args: unknown = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: args },
});

const linesOf = (requestId: string) => lines.filter((l) => l.requestId === requestId);

describe('request logs of the governed server', () => {
  it('a refused token is logged with its request id and no caller, and the token never appears', async () => {
    const forged = `${(await h.token(['Test.Echo'])).slice(0, -4)}AAAA`;
    expect(await post(call('test_echo', { message: 'x' }), forged, 'log-test-forged')).toBe(401);
    const own = linesOf('log-test-forged');
    expect(own.some((l) => l.msg === 'request completed' && l.statusCode === 401)).toBe(true);
    for (const l of own) expect(l.subject).toBeUndefined();
    expect(raw).not.toContain(forged);
    expect(raw).not.toContain(forged.split('.')[2]);
  });

  it('every line of a call carries its request id and its own caller; tool errors add the tool', async () => {
    const tokenA = await h.token(['Test.Echo'], { sub: 'log-app-a' });
    const tokenB = await h.token(['Test.Echo'], { sub: 'log-app-b' });
    await Promise.all([
      post(call('test_fail'), tokenA, 'log-test-a1'),
      post(call('test_echo', { message: 'hi' }), tokenB, 'log-test-b1'),
      post(call('test_fail'), tokenB, 'log-test-b2'),
      post(call('test_echo', { message: 'hi' }), tokenA, 'log-test-a2'),
    ]);
    for (const [id, subject] of [
      ['log-test-a1', 'log-app-a'],
      ['log-test-a2', 'log-app-a'],
      ['log-test-b1', 'log-app-b'],
      ['log-test-b2', 'log-app-b'],
    ] as const) {
      const own = linesOf(id);
      expect(own.some((l) => l.msg === 'request completed' && l.statusCode === 200)).toBe(true);
      for (const l of own) expect(l.subject).toBe(subject);
    }
    for (const id of ['log-test-a1', 'log-test-b2']) {
      expect(linesOf(id).find((l) => l.msg === 'tool returned an error')).toMatchObject({ tool: 'test_fail' });
    }
    // Lines of no request (startup, shutdown) carry no caller: nothing leaked onto the shared logger.
    for (const l of lines.filter((x) => x.requestId === undefined)) expect(l.subject).toBeUndefined();
    for (const token of [tokenA, tokenB]) {
      expect(raw).not.toContain(token);
      expect(raw).not.toContain(token.split('.')[2]);
    }
  });
});

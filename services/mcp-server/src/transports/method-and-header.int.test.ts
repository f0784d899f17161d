import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type Replica, startHarness } from '../../test-support/mcp-test-harness.ts';

let h: Harness;
let replica: Replica;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  replica = await h.startReplica();
  token = await h.token(['Test.Echo']);
});
afterAll(async () => {
  await h.close();
});

/** Raw HTTP/1.1: fetch cannot send one header twice. */
function raw(lines: string[], body = ''): Promise<{ status: number; headers: string; body: string }> {
  const { port } = new URL(replica.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `${lines.join('\r\n')}\r\nHost: 127.0.0.1\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const split = data.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]),
        headers: data.slice(0, split),
        body: data.slice(split + 4),
      });
    });
  });
}

const jsonLine = (body: string) => JSON.parse(body.split('\r\n').find((line) => line.startsWith('{')) ?? 'null');

describe('two Authorization headers on MCP routes', () => {
  it.each(['/mcp', '/message'])(
    'POST %s answers 400 as a JSON-RPC error naming the header; nothing runs',
    async (path) => {
      const other = await h.token(['Test.Echo'], { sub: 'someone-else' });
      const res = await raw(
        [
          `POST ${path} HTTP/1.1`,
          'Content-Type: application/json',
          'Accept: application/json, text/event-stream',
          `Authorization: Bearer ${token}`,
          `Authorization: Bearer ${other}`,
        ],
        JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }),
      );
      expect(res.status).toBe(400);
      const envelope = jsonLine(res.body);
      expect(envelope).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, data: { code: 'BROKER_VALIDATION_FAILED' } },
      });
      expect(envelope.error.message).toMatch(/Authorization header was sent 2 times/);
      expect(envelope.error.data.requestId).toEqual(expect.any(String));
    },
  );
});

describe('wrong methods on MCP paths answer 405 with Allow', () => {
  const cases: Array<[string, string, string]> = [
    ['GET', '/message', 'POST'],
    ['PUT', '/message', 'POST'],
    ['DELETE', '/message', 'POST'],
    ['POST', '/sse', 'GET'],
    ['PUT', '/sse', 'GET'],
    ['DELETE', '/sse', 'GET'],
    ['PUT', '/mcp', 'POST'],
    ['PATCH', '/mcp', 'POST'],
  ];
  it.each(cases)('%s %s → 405, Allow: %s, JSON-RPC envelope', async (method, path, allow) => {
    const res = await fetch(`${replica.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(method === 'GET' ? {} : { body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }),
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    const body = await res.json();
    expect(body).toMatchObject({ jsonrpc: '2.0', error: { data: { code: 'BROKER_METHOD_NOT_ALLOWED' } } });
  });

  it('still asks an unauthenticated caller for a token first (no method oracle before auth)', async () => {
    const res = await fetch(`${replica.url}/message`);
    expect(res.status).toBe(401);
  });
});

import { BrokerError } from '@mcp-broker/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type Replica, startHarness } from '../../test-support/mcp-test-harness.ts';
import { checkOrigin, listensOnLoopbackOnly } from './origin-check.ts';

let h: Harness;
let open: Replica;
let listed: Replica;
let token: string;

beforeAll(async () => {
  h = await startHarness();
  // The harness listens on 127.0.0.1: a local development server.
  open = await h.startReplica();
  listed = await h.startReplica({ allowedOrigins: ['https://portal.example.test'] });
  token = await h.token(['Test.Echo']);
});
afterAll(async () => {
  await h.close();
});

const ping = (replica: Replica, origin: string) =>
  fetch(`${replica.url}/message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, origin },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });

describe('Origin on a server listening on loopback with no ALLOWED_ORIGINS', () => {
  it.each([
    'http://localhost:5173',
    'http://localhost',
    'http://127.0.0.1:6274',
    'http://[::1]:8080',
    'https://localhost:3000',
  ])('lets a local origin through: %s', async (origin) => {
    expect((await ping(open, origin)).status).toBe(200);
  });

  it.each([
    'http://evil.example',
    'http://localhost.evil.example',
    'http://127.0.0.1.nip.io:8080',
    'http://10.0.0.5:3000',
    'null',
    'file://',
  ])('still refuses a foreign origin (DNS rebinding): %s', async (origin) => {
    const res = await ping(open, origin);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
      'BROKER_ORIGIN_FORBIDDEN',
    );
  });

  it('with ALLOWED_ORIGINS set, only the listed origins pass, local ones included', async () => {
    expect((await ping(listed, 'https://portal.example.test')).status).toBe(200);
    expect((await ping(listed, 'http://localhost:5173')).status).toBe(403);
  });
});

describe('Origin on a server reachable beyond loopback', () => {
  it('refuses local origins when not listening on loopback only', () => {
    expect(listensOnLoopbackOnly([{ address: '0.0.0.0' }])).toBe(false);
    expect(listensOnLoopbackOnly([{ address: '127.0.0.1' }, { address: '::1' }])).toBe(true);
    expect(listensOnLoopbackOnly([{ address: '127.0.0.1' }, { address: '10.0.0.4' }])).toBe(false);
    expect(listensOnLoopbackOnly([])).toBe(false);
    expect(() => checkOrigin('http://localhost:5173', [], false)).toThrow(BrokerError);
    expect(() => checkOrigin('http://localhost:5173', [], true)).not.toThrow();
  });
});

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, verifyCallbackSignature } from './callback-signature.ts';
import { checkCallbackUrl, isPrivateAddress } from './callback-url-policy.ts';
import { HttpCallbackHandler } from './http-callback-target.ts';
import { DeliveryError } from './write-back-target-handler.ts';

const SECRET = 'callback-signing-secret-for-tests';
let server: Server;
let base: string;
const received: Array<{ headers: IncomingMessage['headers']; body: string; path: string }> = [];
let nextStatus = 200;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body, path: req.url ?? '' });
      res.writeHead(nextStatus, nextStatus === 429 ? { 'retry-after': '7' } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const record = {
  id: 'tc_abc',
  caller: 'caller-a',
  tool: 'query_customer_data',
  idempotencyKey: 'k-1',
  status: 'succeeded',
  result: { structuredContent: { ok: true } },
  correlation: { requestId: 'req-9' },
  completedAt: '2026-11-26T00:00:00.000Z',
} as unknown as ToolCallRecord;

const handler = (allowPrivate: boolean, hosts = ['127.0.0.1']) =>
  new HttpCallbackHandler({
    policyFor: () => ({ hosts: hosts.map((h) => (h === '127.0.0.1' ? new URL(base).host : h)), allowPrivate }),
    secretFor: () => SECRET,
  });
const ctx = { record, targetIndex: 0, signal: new AbortController().signal };

describe('callback URL policy', () => {
  const policy = { hosts: ['hooks.example.com', '*.callbacks.example.org'], allowPrivate: false };
  it('accepts allowlisted https hosts and wildcard subdomains', () => {
    expect(checkCallbackUrl('https://hooks.example.com/x', policy).host).toBe('hooks.example.com');
    expect(checkCallbackUrl('https://a.callbacks.example.org/x', policy).host).toBe('a.callbacks.example.org');
  });
  it.each([
    ['https://evil.example.com/x', /not on this caller's allowlist/],
    ['https://callbacks.example.org/x', /not on this caller's allowlist/],
    ['https://hooks.example.com.evil.net/', /not on this caller's allowlist/],
    ['http://hooks.example.com/x', /must use https/],
    ['https://user:pw@hooks.example.com/', /credentials/],
    ['not a url', /not a valid URL/],
  ])('refuses %s', (url, message) => {
    expect(() => checkCallbackUrl(url, policy)).toThrow(message);
  });
  it('refuses private literal addresses even when allowlisted', () => {
    expect(() => checkCallbackUrl('https://10.0.0.5/x', { hosts: ['10.0.0.5'], allowPrivate: false })).toThrow(
      /private/,
    );
  });
  it('knows private, loopback, link-local and mapped addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '2606:4700::1111']) expect(isPrivateAddress(a), a).toBe(false);
  });
});

describe('http-callback delivery', () => {
  it('POSTs the result as JSON with a verifiable signature and an idempotency key', async () => {
    nextStatus = 200;
    received.length = 0;
    const receipt = await handler(true).deliver({ type: 'http-callback', url: `${base}/cb` }, ctx);
    expect(receipt).toEqual({ httpStatus: 200 });
    const got = received[0]!;
    expect(got.path).toBe('/cb');
    expect(JSON.parse(got.body)).toMatchObject({ id: 'tc_abc', status: 'succeeded', requestId: 'req-9' });
    expect(got.headers['idempotency-key']).toBe('tc_abc.wb0');
    expect(verifyCallbackSignature(got.body, got.headers[SIGNATURE_HEADER] as string, SECRET)).toBe(true);
    expect(verifyCallbackSignature(`${got.body} `, got.headers[SIGNATURE_HEADER] as string, SECRET)).toBe(false);
    expect(verifyCallbackSignature(got.body, got.headers[SIGNATURE_HEADER] as string, 'other-secret')).toBe(false);
  });

  it('refuses old signatures (replay protection)', () => {
    expect(verifyCallbackSignature('{}', `t=1000,v1=${'0'.repeat(64)}`, SECRET, { nowSeconds: 5000 })).toBe(false);
  });

  it('classifies 5xx and 429 (with Retry-After) as transient, other 4xx as permanent', async () => {
    nextStatus = 503;
    await expect(handler(true).deliver({ type: 'http-callback', url: `${base}/cb` }, ctx)).rejects.toMatchObject({
      kind: 'transient',
    });
    nextStatus = 429;
    await expect(handler(true).deliver({ type: 'http-callback', url: `${base}/cb` }, ctx)).rejects.toMatchObject({
      kind: 'transient',
      retryAfterMs: 7000,
    });
    nextStatus = 404;
    await expect(handler(true).deliver({ type: 'http-callback', url: `${base}/cb` }, ctx)).rejects.toMatchObject({
      kind: 'permanent',
      code: 'CALLBACK_REFUSED',
    });
  });

  it('refuses at delivery a host that resolves to a private address', async () => {
    const port = new URL(base).port;
    const err = await handler(false, [`localhost:${port}`])
      .deliver({ type: 'http-callback', url: `https://localhost:${port}/cb` }, ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ kind: 'permanent', code: 'CALLBACK_URL_REJECTED' });
    expect((err as Error).message).toMatch(/resolves to private address/);
  });

  it('an unreachable receiver is transient', async () => {
    await expect(
      handler(true, ['127.0.0.1:1']).deliver({ type: 'http-callback', url: 'http://127.0.0.1:1/cb' }, ctx),
    ).rejects.toMatchObject({ kind: 'transient', code: 'CALLBACK_UNREACHABLE', unconfirmed: false });
  });
});

describe('a receiver slower than the delivery timeout', () => {
  let slow: Server;
  let slowBase: string;
  let requests = 0;
  beforeAll(async () => {
    slow = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests += 1;
        setTimeout(() => res.writeHead(200).end(), 1500);
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    slowBase = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((r) => {
        slow.closeAllConnections();
        slow.close(() => r());
      }),
  );
  const slowHandler = () =>
    new HttpCallbackHandler({
      policyFor: () => ({ hosts: [new URL(slowBase).host], allowPrivate: true }),
      secretFor: () => SECRET,
      timeoutMs: 1000,
    });

  it('is a timeout recorded as possibly received, since the body had gone out', async () => {
    const before = requests;
    const err = await slowHandler()
      .deliver({ type: 'http-callback', url: `${slowBase}/cb` }, ctx)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'transient', code: 'CALLBACK_TIMEOUT', unconfirmed: true });
    expect(requests).toBe(before + 1);
  });

  it('is waited for when the target sets a longer timeoutMs', async () => {
    const target = { type: 'http-callback' as const, url: `${slowBase}/cb`, timeoutMs: 3000 };
    expect(slowHandler().timeoutFor(target)).toBe(3000);
    await expect(slowHandler().deliver(target, ctx)).resolves.toEqual({ httpStatus: 200 });
  });
});

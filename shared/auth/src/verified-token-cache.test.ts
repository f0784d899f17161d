import type { Identity } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache } from './verified-token-cache.ts';

const identity = (subject: string): Identity => ({
  subject,
  issuer: 'https://issuer.example',
  tokenKind: 'app',
  permissions: ['Orders.Read'],
});
const t0 = 1_800_000_000_000;
const exp = (msFromT0: number) => (t0 + msFromT0) / 1000;

describe('VerifiedTokenCache', () => {
  it('answers a remembered token until its exp and not from exp on', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxAgeSeconds: 3600 });
    cache.set('token-a', identity('a'), exp(60_000), t0);
    expect(cache.get('token-a', t0 + 59_999)?.subject).toBe('a');
    expect(cache.get('token-a', t0 + 60_000)).toBeUndefined();
    // An expired entry is dropped, not kept around to be looked at again.
    expect(cache.size).toBe(0);
  });

  it('forgets a token after maxAgeSeconds even when its exp is later', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxAgeSeconds: 5 });
    cache.set('token-a', identity('a'), exp(3_600_000), t0);
    expect(cache.get('token-a', t0 + 4_999)).toBeDefined();
    expect(cache.get('token-a', t0 + 5_000)).toBeUndefined();
  });

  it('does not answer a token that differs by one character', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    cache.set('header.payload.signature', identity('a'), exp(60_000), t0);
    expect(cache.get('header.payload.signaturf', t0)).toBeUndefined();
    expect(cache.get('header.payload.signature ', t0)).toBeUndefined();
  });

  it('holds at most maxEntries tokens, dropping the least recently used', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 3, maxAgeSeconds: 300 });
    for (const name of ['a', 'b', 'c']) cache.set(`token-${name}`, identity(name), exp(60_000), t0);
    expect(cache.get('token-a', t0)).toBeDefined(); // a is now the most recently used
    cache.set('token-d', identity('d'), exp(60_000), t0);
    expect(cache.size).toBe(3);
    expect(cache.get('token-b', t0)).toBeUndefined();
    for (const name of ['a', 'c', 'd']) expect(cache.get(`token-${name}`, t0)?.subject).toBe(name);
  });

  it('remembers nothing when maxEntries is 0, or for a token already expired', () => {
    const off = new VerifiedTokenCache({ maxEntries: 0, maxAgeSeconds: 300 });
    off.set('token-a', identity('a'), exp(60_000), t0);
    expect(off.get('token-a', t0)).toBeUndefined();
    const on = new VerifiedTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    on.set('token-a', identity('a'), exp(-1), t0);
    expect(on.size).toBe(0);
  });

  it('hands out a frozen identity, so no request can change what the next one sees', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    cache.set('token-a', identity('a'), exp(60_000), t0);
    const hit = cache.get('token-a', t0);
    if (hit === undefined) throw new Error('expected a cached identity');
    expect(Object.isFrozen(hit)).toBe(true);
    expect(Object.isFrozen(hit.permissions)).toBe(true);
    expect(() => (hit.permissions as string[]).push('Admin')).toThrow(TypeError);
  });
});

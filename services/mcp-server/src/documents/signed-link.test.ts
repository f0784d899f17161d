import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DocumentLinkSigner } from './signed-link.ts';

const SECRET = 'a-test-secret-that-is-long-enough-32+';
const T0 = Date.UTC(2026, 5, 30, 12, 0, 0);

function signer(now = () => T0, secret = SECRET) {
  return new DocumentLinkSigner({ secret, baseUrl: 'https://api.example.com/mcp-api/', now });
}

function params(url: string) {
  const u = new URL(url);
  return {
    id: decodeURIComponent(u.pathname.split('/').at(-1)!),
    path: u.pathname,
    format: u.searchParams.get('format') ?? undefined,
    expires: u.searchParams.get('expires') ?? undefined,
    sig: u.searchParams.get('sig') ?? undefined,
  };
}

describe('DocumentLinkSigner', () => {
  it('issues {baseUrl}/documents/{id} links with format, expiry and an HMAC-SHA256 over id|format|expires', () => {
    const link = signer().link('ctr-abc', 'html', 3600);
    const p = params(link.url);
    expect(link.url.startsWith('https://api.example.com/mcp-api/documents/ctr-abc?')).toBe(true);
    expect(p.format).toBe('html');
    expect(link.expires).toBe(T0 / 1000 + 3600);
    expect(p.expires).toBe(String(link.expires));
    expect(link.expiresAt).toBe('2026-06-30T13:00:00.000Z');
    const expected = createHmac('sha256', SECRET).update(`ctr-abc|html|${link.expires}`).digest('base64url');
    expect(p.sig).toBe(expected);
  });

  it('accepts its own link until it expires, then refuses it as expired', () => {
    let now = T0;
    const s = signer(() => now);
    const p = params(s.link('ctr-abc', 'markdown', 60).url);
    expect(s.verify(p)).toEqual({ ok: true, id: 'ctr-abc', format: 'markdown', expires: T0 / 1000 + 60 });
    now = T0 + 59_999;
    expect(s.verify(p).ok).toBe(true);
    now = T0 + 60_000;
    expect(s.verify(p)).toMatchObject({ ok: false, reason: 'expired' });
    expect(s.verify(p)).toMatchObject({ message: expect.stringContaining('2026-06-30T12:01:00.000Z') });
  });

  it('refuses any change to id, format, expiry or signature as a bad signature', () => {
    const s = signer();
    const p = params(s.link('ctr-abc', 'html', 600).url);
    const later = String(Number(p.expires) + 3600);
    const flipped = `${p.sig!.slice(0, 10)}${p.sig![10] === 'A' ? 'B' : 'A'}${p.sig!.slice(11)}`;
    for (const tampered of [
      { ...p, id: 'ctr-abd' },
      { ...p, format: 'markdown' },
      { ...p, expires: later },
      { ...p, sig: flipped },
      { ...p, sig: p.sig!.slice(1) },
      { ...p, sig: `${p.sig}A` },
      { ...p, sig: '!'.repeat(43) },
      { ...p, id: 'ctr|abc' },
    ]) {
      expect(s.verify(tampered), JSON.stringify(tampered)).toMatchObject({ ok: false, reason: 'bad_signature' });
    }
    expect(signer(() => T0, `${SECRET}-other`).verify(p)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('checks the signature before the expiry, so a forged link never learns it expired', () => {
    let now = T0;
    const s = signer(() => now);
    const p = params(s.link('ctr-abc', 'html', 60).url);
    now = T0 + 3_600_000;
    expect(s.verify({ ...p, sig: 'A'.repeat(43) })).toMatchObject({ reason: 'bad_signature' });
  });

  it('names missing or malformed parameters', () => {
    const s = signer();
    const p = params(s.link('ctr-abc', 'html', 60).url);
    expect(s.verify({ id: p.id, format: undefined, expires: undefined, sig: p.sig })).toMatchObject({
      ok: false,
      reason: 'missing_parameter',
      message: 'The link lacks "format", "expires".',
    });
    expect(s.verify({ ...p, sig: '' })).toMatchObject({ reason: 'missing_parameter' });
    expect(s.verify({ ...p, format: 'pdf' })).toMatchObject({ reason: 'bad_format' });
    expect(s.verify({ ...p, format: ['html', 'html'] })).toMatchObject({ reason: 'bad_format' });
    expect(s.verify({ ...p, expires: '1e12' })).toMatchObject({ reason: 'bad_expires' });
    expect(s.verify({ ...p, expires: '-5' })).toMatchObject({ reason: 'bad_expires' });
  });

  it('refuses short secrets, unlinkable ids and bad lifetimes', () => {
    expect(() => signer(undefined, 'short')).toThrow(/at least 32 bytes/);
    expect(() => signer().link('a/b', 'html', 60)).toThrow(/cannot be linked/);
    expect(() => signer().link('a|b', 'html', 60)).toThrow(/cannot be linked/);
    expect(() => signer().link('ctr-abc', 'html', 0)).toThrow(/positive integer/);
    expect(() => signer().link('ctr-abc', 'html', 1.5)).toThrow(/positive integer/);
  });
});

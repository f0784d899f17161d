import { describe, expect, it } from 'vitest';
import { tokenExpiry } from './client-credentials.ts';
import { McpCallError } from './mcp-call-error.ts';
import { type IssuedToken, TokenCache } from './token-cache.ts';

/** A token source whose fetches the test settles by hand. */
function manualSource() {
  const pending: { resolve(t: IssuedToken): void; reject(e: unknown): void }[] = [];
  const source = () => new Promise<IssuedToken>((resolve, reject) => pending.push({ resolve, reject }));
  return { source, pending };
}

function jwtWithExp(exp: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp })}.sig`;
}

describe('TokenCache', () => {
  it('lets one caller abandon its wait while the shared fetch completes for the others', async () => {
    const { source, pending } = manualSource();
    const cache = new TokenCache(source);
    const controller = new AbortController();
    const abandoned = cache.getToken({ signal: controller.signal });
    const kept = cache.getToken();
    controller.abort();
    await expect(abandoned).rejects.toMatchObject({ kind: 'cancelled', code: 'CANCELLED' });
    pending[0]!.resolve({ token: 'a', expiresAtMs: Date.now() + 3_600_000 });
    await expect(kept).resolves.toBe('a');
    expect(pending).toHaveLength(1);
  });

  it('joins an in-flight fetch on forceRefresh instead of starting a second one', async () => {
    const { source, pending } = manualSource();
    const cache = new TokenCache(source);
    const first = cache.getToken();
    const forced = cache.getToken({ forceRefresh: true });
    pending[0]!.resolve({ token: 'a', expiresAtMs: Date.now() + 3_600_000 });
    expect(await Promise.all([first, forced])).toEqual(['a', 'a']);
    expect(pending).toHaveLength(1);
  });

  it('does not cache a failure: the next call fetches again', async () => {
    const { source, pending } = manualSource();
    const cache = new TokenCache(source);
    const failed = cache.getToken();
    pending[0]!.reject(new McpCallError('transient', 'UPSTREAM_AUTH_UNAVAILABLE', 'down'));
    await expect(failed).rejects.toMatchObject({ code: 'UPSTREAM_AUTH_UNAVAILABLE' });
    const retried = cache.getToken();
    pending[1]!.resolve({ token: 'b', expiresAtMs: Date.now() + 3_600_000 });
    await expect(retried).resolves.toBe('b');
  });

  it('does not fall back to the cached token when a forced refresh fails (that token was refused)', async () => {
    const { source, pending } = manualSource();
    const cache = new TokenCache(source);
    const first = cache.getToken();
    pending[0]!.resolve({ token: 'a', expiresAtMs: Date.now() + 3_600_000 });
    await first;
    const forced = cache.getToken({ forceRefresh: true });
    pending[1]!.reject(new McpCallError('permanent', 'UPSTREAM_AUTH_FAILED', 'refused'));
    await expect(forced).rejects.toMatchObject({ code: 'UPSTREAM_AUTH_FAILED' });
  });

  it('refuses at once when the signal is already aborted', async () => {
    const { source, pending } = manualSource();
    const cache = new TokenCache(source);
    await expect(cache.getToken({ signal: AbortSignal.abort() })).rejects.toBeDefined();
    expect(pending).toHaveLength(0);
  });
});

describe('tokenExpiry', () => {
  const at = 1_700_000_000_000;
  it('uses expires_in (number or numeric string) from the request time', () => {
    expect(tokenExpiry(3600, 'opaque', at)).toBe(at + 3_600_000);
    expect(tokenExpiry('600', 'opaque', at)).toBe(at + 600_000);
  });
  it('uses the JWT exp when there is no expires_in, and the earlier of the two when both exist', () => {
    expect(tokenExpiry(undefined, jwtWithExp(1_700_000_900), at)).toBe(1_700_000_900_000);
    expect(tokenExpiry(3600, jwtWithExp(1_700_000_900), at)).toBe(1_700_000_900_000);
  });
  it('assumes ten minutes when neither is known', () => {
    expect(tokenExpiry(undefined, 'opaque', at)).toBe(at + 600_000);
    expect(tokenExpiry(-5, 'not.a.jwt', at)).toBe(at + 600_000);
  });
});

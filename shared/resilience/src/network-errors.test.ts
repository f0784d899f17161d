import { describe, expect, it } from 'vitest';
import { isNetworkError, networkErrorCode } from './network-errors.ts';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('networkErrorCode', () => {
  it('finds a socket code on the error or down its cause chain', () => {
    expect(networkErrorCode(withCode('ECONNREFUSED'))).toBe('ECONNREFUSED');
    const wrapped = new TypeError('fetch failed', { cause: new Error('x', { cause: withCode('UND_ERR_SOCKET') }) });
    expect(networkErrorCode(wrapped)).toBe('UND_ERR_SOCKET');
  });

  it("counts undici's bare fetch failed / terminated", () => {
    expect(networkErrorCode(new TypeError('fetch failed'))).toBe('fetch failed');
    expect(networkErrorCode(new TypeError('terminated'))).toBe('terminated');
  });

  it('is not fooled by other codes, plain objects without one, or endless cause chains', () => {
    expect(networkErrorCode(withCode('ERR_INVALID_ARG_TYPE'))).toBeUndefined();
    expect(networkErrorCode({ message: 'nope' })).toBeUndefined();
    expect(networkErrorCode('ECONNRESET')).toBeUndefined();
    const loop: Error & { cause?: unknown } = new Error('loop');
    loop.cause = loop;
    expect(networkErrorCode(loop)).toBeUndefined();
  });

  it('stops walking after a few causes', () => {
    let err: unknown = withCode('ECONNRESET');
    for (let i = 0; i < 10; i++) err = new Error('wrap', { cause: err });
    expect(isNetworkError(err)).toBe(false);
    expect(isNetworkError(new Error('wrap', { cause: withCode('EPIPE') }))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { isDependencyUnavailable } from './dependency-unavailable.ts';

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('isDependencyUnavailable', () => {
  it('counts a socket failure, also wrapped by an SDK, with every shared network code', () => {
    expect(isDependencyUnavailable(withCode('ECONNREFUSED'))).toBe(true);
    expect(isDependencyUnavailable(new TypeError('fetch failed', { cause: withCode('UND_ERR_HEADERS_TIMEOUT') }))).toBe(
      true,
    );
    expect(isDependencyUnavailable(withCode('EHOSTDOWN'))).toBe(true);
  });

  it('counts an overloaded store answer and ioredis giving up, not a bare status or a bug', () => {
    expect(isDependencyUnavailable(Object.assign(new Error('busy'), { code: 429, headers: {} }))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('busy'), { code: 503 }))).toBe(false);
    expect(isDependencyUnavailable(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isDependencyUnavailable(new TypeError('undefined is not a function'))).toBe(false);
  });
});

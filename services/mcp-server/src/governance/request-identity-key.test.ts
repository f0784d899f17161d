import { identityKey } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { requestIdentityKey } from './request-identity-key.ts';

describe('requestIdentityKey', () => {
  it('never remembers a mutable identity: a changed subject gets its own key', () => {
    const identity = { issuer: 'https://issuer.example', subject: 'app-1' };
    const first = requestIdentityKey(identity);
    identity.subject = 'app-2';
    expect(requestIdentityKey(identity)).toBe(identityKey({ issuer: 'https://issuer.example', subject: 'app-2' }));
    expect(requestIdentityKey(identity)).not.toBe(first);
  });

  it('equals identityKey for frozen and unfrozen identities alike', () => {
    const a = Object.freeze({ issuer: 'https://a.example', subject: 'same' });
    const b = Object.freeze({ issuer: 'https://b.example', subject: 'same' });
    expect(requestIdentityKey(a)).toBe(identityKey(a));
    expect(requestIdentityKey(a)).toBe(identityKey(a));
    expect(requestIdentityKey(b)).toBe(identityKey(b));
    // Equal subjects from two issuers stay two callers.
    expect(requestIdentityKey(a)).not.toBe(requestIdentityKey(b));
    expect(requestIdentityKey({ ...a })).toBe(identityKey(a));
  });
});

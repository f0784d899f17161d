import { type Identity, identityKey } from '@mcp-broker/contracts';

// Keyed by the identity object itself. Only frozen identities are remembered: the verified-token
// cache hands every request of a token the same frozen object, whose issuer and subject cannot
// change, so its key cannot go stale; any other object is hashed every time, as before.
const keys = new WeakMap<object, string>();

/**
 * `identityKey` for the identities requests carry: the rate limit and the cancellation relay each
 * need it on every call, and a caller reusing a token is one frozen object, hashed once.
 */
export function requestIdentityKey(identity: Pick<Identity, 'issuer' | 'subject'>): string {
  if (!Object.isFrozen(identity)) return identityKey(identity);
  let key = keys.get(identity);
  if (key === undefined) {
    key = identityKey(identity);
    keys.set(identity, key);
  }
  return key;
}

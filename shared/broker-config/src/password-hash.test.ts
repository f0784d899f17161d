import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password-hash.ts';

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('right', { N: 1024, r: 8, p: 1 });
    expect(await verifyPassword('right', hash)).toBe(true);
    expect(await verifyPassword('wrong', hash)).toBe(false);
  });

  it.each([
    [
      'a cost beyond the memory bound',
      'scrypt$1048576$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    ],
    ['N not a power of two', 'scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='],
    ['p absurdly high', 'scrypt$1024$8$100000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='],
    ['an empty hash', 'scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA==$'],
    ['another scheme', 'bcrypt$10$x'],
  ])('answers false, never throws and never runs an unbounded check, for %s', async (_what, stored) => {
    const started = performance.now();
    await expect(verifyPassword('x', stored)).resolves.toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

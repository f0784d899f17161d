import { type CallerConfig, callerSchema, hashPassword, verifyPassword } from '@mcp-broker/broker-config';
import { beforeAll, describe, expect, it } from 'vitest';
import { CallerAuthenticator } from './caller-authenticator.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
let caller: CallerConfig;

beforeAll(async () => {
  caller = callerSchema.parse({
    id: 'apex',
    auth: {
      type: 'basic',
      username: 'apex',
      passwordHash: await hashPassword('right-password', { N: 1024, r: 8, p: 1 }),
    },
    upstream: { endpoint: 'local', credential: { type: 'managed-identity', scope: 'api://x/.default' } },
    tools: ['*'],
  });
});

describe('Basic callers', () => {
  it('accepts the right password, also from the cache, and never a wrong one after it', async () => {
    const auth = new CallerAuthenticator([caller]);
    expect((await auth.authenticate(basic('apex', 'right-password'))).id).toBe('apex');
    expect((await auth.authenticate(basic('apex', 'right-password'))).id).toBe('apex');
    await expect(auth.authenticate(basic('apex', 'wrong-password'))).rejects.toMatchObject({
      code: 'BROKER_CREDENTIALS_INVALID',
      message: 'Unknown username or wrong password.',
    });
    await expect(auth.authenticate(basic('nobody', 'right-password'))).rejects.toMatchObject({
      code: 'BROKER_CREDENTIALS_INVALID',
    });
  });

  it('a missing header names what to send', async () => {
    await expect(new CallerAuthenticator([caller]).authenticate(undefined)).rejects.toMatchObject({
      code: 'BROKER_TOKEN_MISSING',
    });
  });
});

describe('failed Basic logins', () => {
  function counting() {
    const runs = { count: 0 };
    const verify: typeof verifyPassword = async (password, hash) => {
      runs.count++;
      return verifyPassword(password, hash);
    };
    return { runs, verify };
  }

  it('are throttled per username: past the limit a guess answers 429 with Retry-After and runs no password check', async () => {
    const { runs, verify } = counting();
    const auth = new CallerAuthenticator([caller], {
      verifyPassword: verify,
      basicLoginLimits: { perUsername: 3, perAddress: 100, total: 100 },
    });
    for (let i = 0; i < 3; i++) {
      await expect(
        auth.authenticate(basic('apex', `guess-${i}`), { clientAddress: `10.0.0.${i}` }),
      ).rejects.toMatchObject({
        code: 'BROKER_CREDENTIALS_INVALID',
      });
    }
    expect(runs.count).toBe(3);
    for (let i = 0; i < 50; i++) {
      await expect(
        auth.authenticate(basic('apex', `guess-x${i}`), { clientAddress: '10.0.1.1' }),
      ).rejects.toMatchObject({
        code: 'BROKER_AUTH_THROTTLED',
        status: 429,
        headers: { 'retry-after': expect.stringMatching(/^\d+$/) },
      });
    }
    expect(runs.count).toBe(3);
  });

  it('are throttled per client address across usernames, and in total across addresses', async () => {
    const { runs, verify } = counting();
    const auth = new CallerAuthenticator([caller], {
      verifyPassword: verify,
      basicLoginLimits: { perUsername: 100, perAddress: 2, total: 5 },
    });
    for (let i = 0; i < 10; i++)
      await auth.authenticate(basic(`user-${i}`, 'x'), { clientAddress: '10.9.9.9' }).catch(() => {});
    expect(runs.count).toBe(2);
    for (let i = 0; i < 20; i++)
      await auth.authenticate(basic(`user-${i}`, 'x'), { clientAddress: `10.8.0.${i}` }).catch(() => {});
    expect(runs.count).toBe(5);
  });

  it('running concurrently still run no more password checks than the limit', async () => {
    const { runs, verify } = counting();
    const auth = new CallerAuthenticator([caller], {
      verifyPassword: verify,
      basicLoginLimits: { perUsername: 4, perAddress: 100, total: 100 },
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        auth.authenticate(basic('apex', `guess-${i}`), { clientAddress: '10.0.0.1' }),
      ),
    );
    expect(runs.count).toBe(4);
    expect(
      outcomes.filter(
        (o) => o.status === 'rejected' && (o.reason as { code: string }).code === 'BROKER_AUTH_THROTTLED',
      ),
    ).toHaveLength(36);
  });

  it('do not count a caller sending its right password on many requests at once: one check, none throttled', async () => {
    const { runs, verify } = counting();
    const auth = new CallerAuthenticator([caller], {
      verifyPassword: verify,
      basicLoginLimits: { perUsername: 4, perAddress: 4, total: 4 },
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, () =>
        auth.authenticate(basic('apex', 'right-password'), { clientAddress: '10.0.0.1' }),
      ),
    );
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.id : (o.reason as { code: string }).code))).toEqual(
      Array(40).fill('apex'),
    );
    expect(runs.count).toBe(1);
  });

  it('do not lock out a caller whose credentials were verified before the guessing started', async () => {
    const { runs, verify } = counting();
    const auth = new CallerAuthenticator([caller], {
      verifyPassword: verify,
      basicLoginLimits: { perUsername: 2, perAddress: 2, total: 2 },
    });
    expect((await auth.authenticate(basic('apex', 'right-password'), { clientAddress: '10.0.0.1' })).id).toBe('apex');
    for (let i = 0; i < 10; i++)
      await auth.authenticate(basic('apex', `guess-${i}`), { clientAddress: '10.0.0.1' }).catch(() => {});
    for (let i = 0; i < 10; i++) {
      expect((await auth.authenticate(basic('apex', 'right-password'), { clientAddress: '10.0.0.1' })).id).toBe('apex');
    }
    // One check for the first good login, two guesses; the good logins after come from the cache.
    expect(runs.count).toBe(3);
  });
});

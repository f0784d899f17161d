import { type CallerConfig, callerSchema, hashPassword } from '@mcp-broker/broker-config';
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
      code: 'BROKER_TOKEN_INVALID',
      message: 'Unknown username or wrong password.',
    });
    await expect(auth.authenticate(basic('nobody', 'right-password'))).rejects.toMatchObject({
      code: 'BROKER_TOKEN_INVALID',
    });
  });

  it('a missing header names what to send', async () => {
    await expect(new CallerAuthenticator([caller]).authenticate(undefined)).rejects.toMatchObject({
      code: 'BROKER_TOKEN_MISSING',
    });
  });
});

import { BrokerError } from '@mcp-broker/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from './index.ts';
import { type LocalTestIssuer, startLocalTestIssuer } from './local-test-issuer.ts';

const audience = 'api://mcp-broker';
const now = () => Math.floor(Date.now() / 1000);

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

describe('token verifier edges', () => {
  let idp: LocalTestIssuer;
  const verifier = () => createTokenVerifier({ issuers: [{ issuer: idp.issuer }], audience });

  beforeAll(async () => {
    idp = await startLocalTestIssuer();
  });
  afterAll(async () => {
    await idp.close();
  });

  it('refuses a token issued ten years in the future, naming iat', async () => {
    const iat = now() + 10 * 365 * 24 * 3600;
    const token = await idp.sign({ aud: audience, sub: 'svc-1', iat, exp: iat + 300 });
    const error = await rejection(verifier().verify(`Bearer ${token}`));
    expect(error.code).toBe('BROKER_TOKEN_INVALID');
    expect(error.details).toMatchObject({ reason: 'issued_in_future' });
    expect(error.message).toMatch(/issued at .*in the future/);
  });

  it('accepts an iat within the clock skew and refuses one just past it', async () => {
    const within = await idp.sign({ aud: audience, sub: 'svc-1', iat: now() + 30 });
    await expect(verifier().verify(`Bearer ${within}`)).resolves.toMatchObject({ subject: 'svc-1' });
    const past = await idp.sign({ aud: audience, sub: 'svc-1', iat: now() + 120 });
    const error = await rejection(
      createTokenVerifier({ issuers: [{ issuer: idp.issuer }], audience, clockToleranceSeconds: 60 }).verify(
        `Bearer ${past}`,
      ),
    );
    expect(error.details).toMatchObject({ reason: 'issued_in_future' });
  });

  it('reports an unknown crit header parameter as unsupported_crit, not as an algorithm problem', async () => {
    const token = await idp.sign(
      { aud: audience, sub: 'svc-1' },
      { header: { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true } },
    );
    const error = await rejection(verifier().verify(`Bearer ${token}`));
    expect(error.code).toBe('BROKER_TOKEN_INVALID');
    expect(error.details).toMatchObject({ reason: 'unsupported_crit' });
    expect(error.message).toContain('urn:example:must-understand');
    expect(error.message).not.toMatch(/algorithm/i);
  });

  it('refuses a crit header that names no parameter as unsupported_crit', async () => {
    const token = await idp.sign({ aud: audience, sub: 'svc-1' }, { header: { crit: [] } });
    const error = await rejection(verifier().verify(`Bearer ${token}`));
    expect(error.details).toMatchObject({ reason: 'unsupported_crit' });
  });
});

import { BrokerError } from '@mcp-broker/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, type TokenRejectionReason, type TokenVerifierOptions } from './index.ts';
import { type LocalTestIssuer, startLocalTestIssuer } from './local-test-issuer.ts';

const audience = 'api://mcp-broker';
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function reasonOf(promise: Promise<unknown>): Promise<TokenRejectionReason> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('BROKER_TOKEN_INVALID');
    return (error as BrokerError).details?.reason as TokenRejectionReason;
  }
  throw new Error('expected the token to be refused');
}

describe('the verified-token cache against a real loopback issuer', () => {
  let idp: LocalTestIssuer;
  const verifierFor = (overrides: Partial<TokenVerifierOptions> = {}) =>
    createTokenVerifier({ issuers: [{ issuer: idp.issuer }], audience, ...overrides });

  beforeAll(async () => {
    idp = await startLocalTestIssuer();
  });
  afterAll(async () => {
    await idp.close();
  });

  it('answers a token sent again from the cache (the same identity, not verified anew)', async () => {
    const verifier = verifierFor();
    const token = await idp.sign({ aud: audience, sub: 'svc-1', roles: ['Orders.Read'] });
    const first = await verifier.verify(`Bearer ${token}`);
    const again = await verifier.verify(`Bearer ${token}`);
    expect(again).toBe(first);
    expect(again).toMatchObject({ subject: 'svc-1', permissions: ['Orders.Read'] });
  });

  it('still refuses a tampered copy of a cached token: altered claims or an altered signature', async () => {
    const verifier = verifierFor();
    const token = await idp.sign({ aud: audience, sub: 'svc-1', roles: ['Orders.Read'] });
    await verifier.verify(`Bearer ${token}`);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const elevated = Buffer.from(JSON.stringify({ ...claims, roles: ['Admin'] })).toString('base64url');
    expect(await reasonOf(verifier.verify(`Bearer ${header}.${elevated}.${signature}`))).toBe('bad_signature');
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await reasonOf(verifier.verify(`Bearer ${header}.${payload}.${flipped}`))).toBe('bad_signature');
    // The genuine token is still served.
    await expect(verifier.verify(`Bearer ${token}`)).resolves.toMatchObject({ permissions: ['Orders.Read'] });
  });

  it('refuses a cached token once its exp has passed', async () => {
    const verifier = verifierFor({ clockToleranceSeconds: 0 });
    const exp = now() + 2;
    const token = await idp.sign({ aud: audience, sub: 'svc-1', exp });
    await verifier.verify(`Bearer ${token}`);
    await verifier.verify(`Bearer ${token}`);
    await sleep(exp * 1000 - Date.now() + 50);
    expect(await reasonOf(verifier.verify(`Bearer ${token}`))).toBe('expired');
  });

  it('refuses a token for another audience, also one another server has cached', async () => {
    const verifier = verifierFor();
    const ours = await idp.sign({ aud: audience, sub: 'svc-1' });
    await verifier.verify(`Bearer ${ours}`);
    const theirs = await idp.sign({ aud: 'api://another-service', sub: 'svc-1' });
    expect(await reasonOf(verifier.verify(`Bearer ${theirs}`))).toBe('wrong_audience');
    expect(await reasonOf(verifier.verify(`Bearer ${theirs}`))).toBe('wrong_audience');
    // Each verifier has its own cache: a token another audience's verifier accepted is not ours.
    const other = verifierFor({ audience: 'api://another-service' });
    await other.verify(`Bearer ${theirs}`);
    expect(await reasonOf(verifier.verify(`Bearer ${theirs}`))).toBe('wrong_audience');
  });

  it('gives a new token of an already cached caller every check', async () => {
    const verifier = verifierFor();
    await verifier.verify(`Bearer ${await idp.sign({ aud: audience, sub: 'svc-1' })}`);
    const notYet = await idp.sign({ aud: audience, sub: 'svc-1', nbf: now() + 600 });
    expect(await reasonOf(verifier.verify(`Bearer ${notYet}`))).toBe('not_yet_valid');
    const unknownKey = await idp.sign({ aud: audience, sub: 'svc-1' }, { kid: 'never-published' });
    expect(await reasonOf(verifier.verify(`Bearer ${unknownKey}`))).toBe('unknown_kid');
  });

  it('verifies a token again after maxAgeSeconds, however late its exp', async () => {
    const verifier = verifierFor({ cache: { maxAgeSeconds: 1 } });
    const token = await idp.sign({ aud: audience, sub: 'svc-1', exp: now() + 3600 });
    const first = await verifier.verify(`Bearer ${token}`);
    expect(await verifier.verify(`Bearer ${token}`)).toBe(first);
    await sleep(1_100);
    const later = await verifier.verify(`Bearer ${token}`);
    expect(later).not.toBe(first);
    expect(later).toEqual(first);
  });

  it('verifies every request when the cache is off (maxEntries 0)', async () => {
    const verifier = verifierFor({ cache: { maxEntries: 0 } });
    const token = await idp.sign({ aud: audience, sub: 'svc-1' });
    const first = await verifier.verify(`Bearer ${token}`);
    expect(await verifier.verify(`Bearer ${token}`)).not.toBe(first);
  });
});

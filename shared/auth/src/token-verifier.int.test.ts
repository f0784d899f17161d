import { BrokerError, type ErrorCode } from '@mcp-broker/contracts';
import { base64url, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, type TokenRejectionReason, type TokenVerifierOptions } from './index.ts';
import { type LocalTestIssuer, startLocalTestIssuer } from './local-test-issuer.ts';

const audience = 'api://mcp-broker';
const now = () => Math.floor(Date.now() / 1000);

async function rejectionOf(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('expected the promise to reject');
}

function expectNoTokenIn(error: BrokerError, token: string) {
  const exposed = `${error.message} ${JSON.stringify(error.details)} ${JSON.stringify(error.headers)}`;
  for (const part of [token, ...token.split('.').filter((segment) => segment.length >= 8)]) {
    expect(exposed).not.toContain(part);
  }
}

async function expectRejected(
  promise: Promise<unknown>,
  expected: { code: ErrorCode; reason: TokenRejectionReason | 'issuer_unavailable'; message: RegExp | string },
  token?: string,
): Promise<BrokerError> {
  const error = await rejectionOf(promise);
  expect(error.code).toBe(expected.code);
  expect(error.details).toMatchObject({ reason: expected.reason });
  if (typeof expected.message === 'string') expect(error.message).toBe(expected.message);
  else expect(error.message).toMatch(expected.message);
  if (token !== undefined) expectNoTokenIn(error, token);
  return error;
}

function unsignedToken(header: object, claims: object): string {
  const encode = (value: object) => base64url.encode(JSON.stringify(value));
  return `${encode(header)}.${encode(claims)}.`;
}

describe('createTokenVerifier against a real loopback issuer', () => {
  let idp: LocalTestIssuer;
  const verifierFor = (overrides: Partial<TokenVerifierOptions> = {}) =>
    createTokenVerifier({ issuers: [{ issuer: idp.issuer }], audience, ...overrides });

  beforeAll(async () => {
    idp = await startLocalTestIssuer();
  });
  afterAll(async () => {
    await idp.close();
  });

  it('accepts a valid RS256 token found through OIDC discovery and returns the caller identity', async () => {
    const token = await idp.sign({ aud: audience, sub: 'svc-1', client_id: 'svc-1', roles: ['Orders.Read'] });
    await expect(verifierFor().verify(`Bearer ${token}`)).resolves.toEqual({
      subject: 'svc-1',
      clientAppId: 'svc-1',
      issuer: idp.issuer,
      tokenKind: 'app',
      permissions: ['Orders.Read'],
    });
  });

  it('accepts the scheme name in any letter case', async () => {
    const token = await idp.sign({ aud: audience, sub: 'svc-1' });
    await expect(verifierFor().verify(`bearer ${token}`)).resolves.toMatchObject({ subject: 'svc-1' });
  });

  describe('missing credentials', () => {
    it('rejects a request without an Authorization header as BROKER_TOKEN_MISSING', async () => {
      await expectRejected(verifierFor().verify(undefined), {
        code: 'BROKER_TOKEN_MISSING',
        reason: 'missing',
        message: /no Authorization header/,
      });
    });

    it('rejects a non-Bearer scheme as BROKER_TOKEN_MISSING and names the scheme', async () => {
      await expectRejected(verifierFor().verify('Basic dXNlcjpwYXNz'), {
        code: 'BROKER_TOKEN_MISSING',
        reason: 'not_bearer',
        message: 'Authorization scheme "Basic" is not Bearer',
      });
    });

    it('rejects a Bearer header that carries no token', async () => {
      await expectRejected(verifierFor().verify('Bearer   '), {
        code: 'BROKER_TOKEN_MISSING',
        reason: 'missing',
        message: /carries no token/,
      });
    });
  });

  describe('malformed tokens', () => {
    it.each([
      ['an opaque string', 'not-a-jwt'],
      ['three segments that are not base64url JSON', 'abc.def.ghi'],
      ['a JWT whose claims are not JSON', `${base64url.encode('{"alg":"RS256"}')}.${base64url.encode('nope')}.sig`],
    ])('rejects %s as malformed', async (_label, token) => {
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'malformed', message: /not a well-formed JWT/ },
        token,
      );
    });

    it('rejects an encrypted (JWE) token', async () => {
      await expectRejected(verifierFor().verify('Bearer a.b.c.d.e'), {
        code: 'BROKER_TOKEN_INVALID',
        reason: 'malformed',
        message: /encrypted \(JWE\) tokens are not accepted/,
      });
    });

    it('rejects a token without an exp claim', async () => {
      const token = await idp.sign({ aud: audience, sub: 'svc-1', exp: undefined });
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'invalid_claims', message: 'token has no "exp" claim' },
        token,
      );
    });

    it('rejects a token whose exp is not a number, naming the claim', async () => {
      const token = await idp.sign({ aud: audience, sub: 'svc-1', exp: 'tomorrow' as unknown as number });
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        {
          code: 'BROKER_TOKEN_INVALID',
          reason: 'invalid_claims',
          message: 'token claim check failed: "exp" claim must be a number',
        },
        token,
      );
    });

    it('rejects a token without an aud claim', async () => {
      const token = await idp.sign({ sub: 'svc-1' });
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'invalid_claims', message: 'token has no "aud" claim' },
        token,
      );
    });

    it('rejects a token that names no subject', async () => {
      const token = await idp.sign({ aud: audience, roles: ['Orders.Read'] });
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'no_subject', message: /names no subject/ },
        token,
      );
    });
  });

  describe('time claims', () => {
    it('rejects an expired token and says when it expired', async () => {
      const exp = now() - 120;
      const token = await idp.sign({ aud: audience, sub: 'svc-1', iat: exp - 300, exp });
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        {
          code: 'BROKER_TOKEN_INVALID',
          reason: 'expired',
          message: `token expired at ${new Date(exp * 1000).toISOString()}`,
        },
        token,
      );
    });

    it('rejects a token whose nbf is more than 60 s in the future', async () => {
      const nbf = now() + 120;
      const token = await idp.sign({ aud: audience, sub: 'svc-1', nbf, exp: nbf + 300 });
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        {
          code: 'BROKER_TOKEN_INVALID',
          reason: 'not_yet_valid',
          message: `token is not yet valid: it becomes valid at ${new Date(nbf * 1000).toISOString()}`,
        },
        token,
      );
    });

    it('accepts a token expired or not yet valid by less than the 60 s clock tolerance', async () => {
      const expiredRecently = await idp.sign({ aud: audience, sub: 'svc-1', iat: now() - 600, exp: now() - 30 });
      const validSoon = await idp.sign({ aud: audience, sub: 'svc-2', nbf: now() + 30 });
      const verifier = verifierFor();
      await expect(verifier.verify(`Bearer ${expiredRecently}`)).resolves.toMatchObject({ subject: 'svc-1' });
      await expect(verifier.verify(`Bearer ${validSoon}`)).resolves.toMatchObject({ subject: 'svc-2' });
    });

    it('caps a configured clock tolerance above 60 s at 60 s', async () => {
      const token = await idp.sign({ aud: audience, sub: 'svc-1', iat: now() - 600, exp: now() - 120 });
      await expectRejected(verifierFor({ clockToleranceSeconds: 3600 }).verify(`Bearer ${token}`), {
        code: 'BROKER_TOKEN_INVALID',
        reason: 'expired',
        message: /^token expired at /,
      });
    });
  });

  describe('audience and issuer', () => {
    it("rejects a token for another audience and names both the token's and this server's", async () => {
      const token = await idp.sign({ aud: 'api://someone-else', sub: 'svc-1' });
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        {
          code: 'BROKER_TOKEN_INVALID',
          reason: 'wrong_audience',
          message: `audience "api://someone-else" is not this server's resource "api://mcp-broker"`,
        },
        token,
      );
    });

    it('accepts a token whose aud array contains this resource', async () => {
      const token = await idp.sign({ aud: ['api://other', audience], sub: 'svc-1' });
      await expect(verifierFor().verify(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'svc-1' });
    });

    it("uses an issuer's audience override instead of the verifier's audience", async () => {
      const token = await idp.sign({ aud: '00000000-aaaa-bbbb-cccc-000000000001', sub: 'svc-1' });
      const verifier = createTokenVerifier({
        issuers: [{ issuer: idp.issuer, audience: '00000000-aaaa-bbbb-cccc-000000000001' }],
        audience,
      });
      await expect(verifier.verify(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'svc-1' });
    });

    it('rejects a token from an issuer that is not configured, before fetching anything', async () => {
      const token = await idp.sign({ iss: 'https://attacker.example', aud: audience, sub: 'svc-1' });
      const before = { ...idp.requests };
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        {
          code: 'BROKER_TOKEN_INVALID',
          reason: 'unknown_issuer',
          message: /^issuer "https:\/\/attacker\.example" is not configured/,
        },
        token,
      );
      expect(idp.requests).toEqual(before);
    });

    it('matches the issuer exactly, so a trailing slash is a different issuer', async () => {
      const token = await idp.sign({ iss: `${idp.issuer}/`, aud: audience, sub: 'svc-1' });
      await expectRejected(verifierFor().verify(`Bearer ${token}`), {
        code: 'BROKER_TOKEN_INVALID',
        reason: 'unknown_issuer',
        message: /is not configured/,
      });
    });

    it('refuses a discovery document that names a different issuer', async () => {
      const token = await idp.sign({ aud: audience, sub: 'svc-1' });
      const lyingFetch: typeof fetch = async (input, init) =>
        String(input).endsWith('/openid-configuration')
          ? Response.json({ issuer: 'https://elsewhere.example', jwks_uri: idp.jwksUri })
          : fetch(input, init);
      await expectRejected(
        verifierFor({ fetch: lyingFetch }).verify(`Bearer ${token}`),
        {
          code: 'BROKER_NOT_READY',
          reason: 'issuer_unavailable',
          message: /names issuer "https:\/\/elsewhere\.example"/,
        },
        token,
      );
    });
  });

  describe('algorithms and signatures', () => {
    it('rejects an unsigned token with alg "none"', async () => {
      const token = unsignedToken(
        { alg: 'none', typ: 'JWT' },
        { iss: idp.issuer, aud: audience, sub: 'x', exp: now() + 300 },
      );
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'alg_not_allowed', message: /^algorithm "none" is not allowed/ },
        token,
      );
    });

    it.each(['PEM', 'JWK'])("rejects an HS256 token keyed with the issuer's public key as %s bytes", async (form) => {
      const secret = new TextEncoder().encode(
        form === 'PEM' ? await idp.publicKeyPem() : JSON.stringify(idp.publicJwk()),
      );
      const token = await new SignJWT({ iss: idp.issuer, aud: audience, sub: 'forged', exp: now() + 300 })
        .setProtectedHeader({ alg: 'HS256', kid: idp.defaultKid })
        .sign(secret);
      await expectRejected(
        verifierFor().verify(`Bearer ${token}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'alg_not_allowed', message: /^algorithm "HS256" is not allowed/ },
        token,
      );
    });

    it('refuses to be configured to accept an HS or none algorithm', () => {
      expect(() => verifierFor({ algorithms: ['RS256', 'HS256'] })).toThrow(/"HS256" must never be accepted/);
      expect(() => verifierFor({ algorithms: ['none'] })).toThrow(/"none" must never be accepted/);
    });

    it('rejects an algorithm outside a narrowed allowlist', async () => {
      const token = await idp.sign({ aud: audience, sub: 'svc-1' });
      await expectRejected(verifierFor({ algorithms: ['ES256'] }).verify(`Bearer ${token}`), {
        code: 'BROKER_TOKEN_INVALID',
        reason: 'alg_not_allowed',
        message: 'algorithm "RS256" is not allowed (allowed: ES256)',
      });
    });

    it('rejects a token whose signature was altered', async () => {
      const token = await idp.sign({ aud: audience, sub: 'svc-1' });
      const [header, claims, signature = ''] = token.split('.');
      const middle = Math.floor(signature.length / 2);
      const flipped = signature[middle] === 'A' ? 'B' : 'A';
      const tampered = `${header}.${claims}.${signature.slice(0, middle)}${flipped}${signature.slice(middle + 1)}`;
      await expectRejected(
        verifierFor().verify(`Bearer ${tampered}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'bad_signature', message: 'signature verification failed' },
        tampered,
      );
    });

    it('rejects a token whose claims were altered after signing', async () => {
      const token = await idp.sign({ aud: audience, sub: 'svc-1', roles: ['Orders.Read'] });
      const [header, , signature] = token.split('.');
      const widened = base64url.encode(
        JSON.stringify({ iss: idp.issuer, aud: audience, sub: 'svc-1', roles: ['Admin'], exp: now() + 300 }),
      );
      const tampered = `${header}.${widened}.${signature}`;
      await expectRejected(
        verifierFor().verify(`Bearer ${tampered}`),
        { code: 'BROKER_TOKEN_INVALID', reason: 'bad_signature', message: 'signature verification failed' },
        tampered,
      );
    });
  });

  describe('key rotation and JWKS caching', () => {
    it('fetches discovery and the JWKS once and reuses them for later tokens', async () => {
      const own = await startLocalTestIssuer();
      try {
        const verifier = createTokenVerifier({ issuers: [{ issuer: own.issuer }], audience });
        for (const sub of ['a', 'b', 'c']) {
          await verifier.verify(`Bearer ${await own.sign({ aud: audience, sub })}`);
        }
        expect(own.requests).toEqual({ discovery: 1, jwks: 1 });
      } finally {
        await own.close();
      }
    });

    it('skips discovery when the issuer config names its jwksUri', async () => {
      const own = await startLocalTestIssuer();
      try {
        const verifier = createTokenVerifier({ issuers: [{ issuer: own.issuer, jwksUri: own.jwksUri }], audience });
        await verifier.verify(`Bearer ${await own.sign({ aud: audience, sub: 'a' })}`);
        expect(own.requests).toEqual({ discovery: 0, jwks: 1 });
      } finally {
        await own.close();
      }
    });

    it('refetches the JWKS once for an unknown kid and accepts the token after the issuer rotates keys', async () => {
      const own = await startLocalTestIssuer();
      try {
        const verifier = createTokenVerifier({ issuers: [{ issuer: own.issuer }], audience, jwksCooldownMs: 0 });
        await verifier.verify(`Bearer ${await own.sign({ aud: audience, sub: 'before' })}`);
        expect(own.requests.jwks).toBe(1);

        const rotated = await own.addKey('rotated');
        const token = await own.sign({ aud: audience, sub: 'after' }, { kid: rotated });
        await expect(verifier.verify(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'after' });
        expect(own.requests.jwks).toBe(2);
      } finally {
        await own.close();
      }
    });

    it('rejects a kid that is still absent after the refetch, naming the kid', async () => {
      const own = await startLocalTestIssuer();
      try {
        const verifier = createTokenVerifier({ issuers: [{ issuer: own.issuer }], audience, jwksCooldownMs: 0 });
        await verifier.verify(`Bearer ${await own.sign({ aud: audience, sub: 'warm' })}`);
        const token = await own.sign({ aud: audience, sub: 'x' }, { kid: 'never-published' });
        await expectRejected(
          verifier.verify(`Bearer ${token}`),
          {
            code: 'BROKER_TOKEN_INVALID',
            reason: 'unknown_kid',
            message: `no key "never-published" in the issuer's JWKS`,
          },
          token,
        );
        expect(own.requests.jwks).toBe(2);
      } finally {
        await own.close();
      }
    });

    it('does not refetch the JWKS for an unknown kid within the cooldown', async () => {
      const own = await startLocalTestIssuer();
      try {
        const verifier = createTokenVerifier({ issuers: [{ issuer: own.issuer }], audience, jwksCooldownMs: 600_000 });
        await verifier.verify(`Bearer ${await own.sign({ aud: audience, sub: 'warm' })}`);
        const rotated = await own.addKey('rotated');
        const token = await own.sign({ aud: audience, sub: 'x' }, { kid: rotated });
        await expectRejected(verifier.verify(`Bearer ${token}`), {
          code: 'BROKER_TOKEN_INVALID',
          reason: 'unknown_kid',
          message: `no key "rotated" in the issuer's JWKS`,
        });
        expect(own.requests.jwks).toBe(1);
      } finally {
        await own.close();
      }
    });

    it('tries each candidate key for a token without kid when the JWKS holds several', async () => {
      const own = await startLocalTestIssuer();
      try {
        const second = await own.addKey();
        const verifier = createTokenVerifier({ issuers: [{ issuer: own.issuer }], audience });
        const token = await own.sign({ aud: audience, sub: 'kidless' }, { kid: second, omitKid: true });
        await expect(verifier.verify(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'kidless' });
      } finally {
        await own.close();
      }
    });

    it('reports an unreachable discovery as BROKER_NOT_READY and retries it on the next token', async () => {
      const own = await startLocalTestIssuer();
      try {
        const verifier = createTokenVerifier({ issuers: [{ issuer: own.issuer }], audience });
        const token = await own.sign({ aud: audience, sub: 'svc-1' });
        own.failDiscovery(1);
        await expectRejected(
          verifier.verify(`Bearer ${token}`),
          { code: 'BROKER_NOT_READY', reason: 'issuer_unavailable', message: /OpenID configuration .* HTTP 503/ },
          token,
        );
        await expect(verifier.verify(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'svc-1' });
        expect(own.requests.discovery).toBe(2);
      } finally {
        await own.close();
      }
    });
  });

  describe('identity', () => {
    it('maps an app-only token with roles to tokenKind app with those permissions', async () => {
      const token = await idp.sign({
        aud: audience,
        sub: 'svc-1',
        azp: 'app-1',
        roles: ['Orders.Read', 'Cases.Write'],
      });
      await expect(verifierFor().verify(`Bearer ${token}`)).resolves.toEqual({
        subject: 'svc-1',
        clientAppId: 'app-1',
        issuer: idp.issuer,
        tokenKind: 'app',
        permissions: ['Orders.Read', 'Cases.Write'],
      });
    });

    it('maps an Entra delegated token with scp to tokenKind delegated keyed by oid and tid', async () => {
      const token = await idp.sign({
        aud: audience,
        sub: 'pairwise-sub',
        oid: 'user-oid',
        tid: 'tenant-1',
        azp: 'spa-client',
        scp: 'Orders.Read Cases.Read',
      });
      await expect(verifierFor().verify(`Bearer ${token}`)).resolves.toEqual({
        subject: 'user-oid',
        clientAppId: 'spa-client',
        issuer: idp.issuer,
        tenantId: 'tenant-1',
        tokenKind: 'delegated',
        permissions: ['Orders.Read', 'Cases.Read'],
      });
    });

    it('maps an RFC 9068 token with scope and client_id', async () => {
      const token = await idp.sign({
        aud: audience,
        sub: 'svc-9',
        client_id: 'svc-9',
        scope: 'orders:read cases:read',
      });
      await expect(verifierFor().verify(`Bearer ${token}`)).resolves.toEqual({
        subject: 'svc-9',
        clientAppId: 'svc-9',
        issuer: idp.issuer,
        tokenKind: 'app',
        permissions: ['orders:read', 'cases:read'],
      });
    });
  });

  describe('rejections as HTTP responses', () => {
    it('carry an invalid_token WWW-Authenticate challenge when a resource metadata URL is configured', async () => {
      const resourceMetadataUrl = 'https://mcp.example/.well-known/oauth-protected-resource';
      const token = await idp.sign({ aud: 'api://other', sub: 'svc-1' });
      const error = await rejectionOf(verifierFor({ resourceMetadataUrl }).verify(`Bearer ${token}`));
      expect(error.status).toBe(401);
      expect(error.headers['WWW-Authenticate']).toBe(
        `Bearer error="invalid_token", error_description="audience \\"api://other\\" is not this server's resource \\"api://mcp-broker\\"", resource_metadata="${resourceMetadataUrl}"`,
      );
    });

    it('carry a challenge without an error code when no token was sent', async () => {
      const resourceMetadataUrl = 'https://mcp.example/.well-known/oauth-protected-resource';
      const error = await rejectionOf(verifierFor({ resourceMetadataUrl }).verify(undefined));
      expect(error.headers['WWW-Authenticate']).toBe(`Bearer resource_metadata="${resourceMetadataUrl}"`);
    });

    it('never contain the raw token in the message, details or headers', async () => {
      const verifier = verifierFor({ resourceMetadataUrl: 'https://mcp.example/.well-known/oauth-protected-resource' });
      const tokens = [
        await idp.sign({ aud: 'api://other', sub: 'svc-1' }),
        await idp.sign({ aud: audience, sub: 'svc-1', exp: now() - 3600 }),
        await idp.sign({ aud: audience, sub: 'svc-1' }, { kid: 'unknown' }),
        await idp.sign({ iss: 'https://unknown.example', aud: audience, sub: 'svc-1' }),
        `${await idp.sign({ aud: audience, sub: 'svc-1' })}x`,
      ];
      for (const token of tokens) {
        expectNoTokenIn(await rejectionOf(verifier.verify(`Bearer ${token}`)), token);
      }
    });
  });
});

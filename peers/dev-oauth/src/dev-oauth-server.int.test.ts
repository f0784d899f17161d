import { createTokenVerifier } from '@mcp-broker/auth';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DevOAuthServer, startDevOAuthServer } from './index.ts';

const audience = 'api://mcp-broker';
const clients = [
  { clientId: 'orders-agent', clientSecret: 'orders-secret-0123456789', roles: ['Orders.Read', 'Cases.Write'] },
  { clientId: 'admin-agent', clientSecret: 'admin-secret-0123456789', roles: ['Admin'] },
];

async function postToken(server: DevOAuthServer, fields: Record<string, string>) {
  const response = await fetch(server.tokenEndpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', ...fields }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('startDevOAuthServer', () => {
  let server: DevOAuthServer;
  const warnings: unknown[][] = [];

  beforeAll(async () => {
    // oidc-provider reports dev-mode shortcuts through console.warn/info; record them to prove there are none.
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args) => void warnings.push(args));
    const info = vi.spyOn(console, 'info').mockImplementation((...args) => void warnings.push(args));
    try {
      server = await startDevOAuthServer({ audience, clients });
      await server.issueToken('orders-agent', 'orders-secret-0123456789');
    } finally {
      warn.mockRestore();
      info.mockRestore();
    }
  });
  afterAll(async () => {
    await server.close();
  });

  it('listens on an ephemeral loopback port and starts without oidc-provider warnings', () => {
    expect(server.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.tokenEndpoint).toBe(`${server.issuer}/token`);
    expect(warnings).toEqual([]);
  });

  it('serves OpenID discovery at the issuer naming the token endpoint and a JWKS with one RS256 key', async () => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery).toMatchObject({ issuer: server.issuer, token_endpoint: server.tokenEndpoint });
    expect(discovery.grant_types_supported).toContain('client_credentials');
    const jwks = (await (await fetch(String(discovery.jwks_uri))).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('issues an RS256 JWT shaped like an Entra app-only token for a client_credentials POST', async () => {
    const { status, body } = await postToken(server, {
      client_id: 'orders-agent',
      client_secret: 'orders-secret-0123456789',
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const token = String(body.access_token);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });
    expect(decodeJwt(token)).toMatchObject({
      iss: server.issuer,
      aud: audience,
      sub: 'orders-agent',
      client_id: 'orders-agent',
      roles: ['Orders.Read', 'Cases.Write'],
    });
  });

  it('issues a token that @mcp-broker/auth verifies into an app identity with the client roles', async () => {
    const { body } = await postToken(server, { client_id: 'orders-agent', client_secret: 'orders-secret-0123456789' });
    const verifier = createTokenVerifier({ issuers: [{ issuer: server.issuer }], audience });
    await expect(verifier.verify(`Bearer ${String(body.access_token)}`)).resolves.toEqual({
      subject: 'orders-agent',
      clientAppId: 'orders-agent',
      issuer: server.issuer,
      tokenKind: 'app',
      permissions: ['Orders.Read', 'Cases.Write'],
    });
  });

  it('accepts client credentials in an HTTP Basic header through issueToken', async () => {
    const token = await server.issueToken('admin-agent', 'admin-secret-0123456789');
    expect(decodeJwt(token)).toMatchObject({ sub: 'admin-agent', roles: ['Admin'] });
  });

  it('rejects a wrong client secret with 401 invalid_client', async () => {
    const { status, body } = await postToken(server, { client_id: 'orders-agent', client_secret: 'wrong' });
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('rejects an unknown client with 401 invalid_client', async () => {
    const { status, body } = await postToken(server, { client_id: 'nobody', client_secret: 'x' });
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('makes issueToken reject with the OAuth error and without echoing the secret', async () => {
    const attempt = server.issueToken('orders-agent', 'not-the-secret');
    await expect(attempt).rejects.toThrow(/HTTP 401: invalid_client/);
    await expect(attempt).rejects.not.toThrow(/not-the-secret/);
  });

  it("does not widen a client's roles or scope when it asks for another client's role", async () => {
    const token = await server.issueToken('orders-agent', 'orders-secret-0123456789', 'Admin Orders.Read');
    const claims = decodeJwt(token);
    expect(claims.roles).toEqual(['Orders.Read', 'Cases.Write']);
    expect(claims.scope).toBe('Orders.Read');
    const verifier = createTokenVerifier({ issuers: [{ issuer: server.issuer }], audience });
    const identity = await verifier.verify(`Bearer ${token}`);
    expect(identity.permissions).not.toContain('Admin');
  });

  it('rejects a resource indicator other than the configured audience with invalid_target', async () => {
    const { status, body } = await postToken(server, {
      client_id: 'orders-agent',
      client_secret: 'orders-secret-0123456789',
      resource: 'api://somewhere-else',
    });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_target');
  });

  it('refuses grants other than client_credentials', async () => {
    const { status, body } = await postToken(server, {
      grant_type: 'authorization_code',
      code: 'x',
      redirect_uri: 'http://127.0.0.1/cb',
      client_id: 'orders-agent',
      client_secret: 'orders-secret-0123456789',
    });
    expect(status).toBe(400);
    // oidc-provider answers invalid_request here where RFC 6749 would suggest unauthorized_client.
    expect(body).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/grant type is not allowed/),
    });
  });

  it('stops accepting connections after close', async () => {
    const own = await startDevOAuthServer({ audience, clients });
    await own.close();
    await expect(fetch(`${own.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
  });

  it('refuses duplicate client ids', async () => {
    await expect(startDevOAuthServer({ audience, clients: [clients[0]!, clients[0]!] })).rejects.toThrow(/unique/);
  });
});

import { createTokenVerifier } from '@mcp-broker/auth';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevOAuthServer, startDevOAuthServer } from './index.ts';

const audience = 'api://mcp-broker';
const advertised = 'http://127.0.0.1:3001/mcp';
const client = { clientId: 'spec-client', clientSecret: 'spec-secret-0123456789', roles: ['Customers.Read'] };

async function tokenFor(server: DevOAuthServer, resource: string) {
  const response = await fetch(server.tokenEndpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      resource,
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

describe('resource indicators a resource server advertises (RFC 8707 + RFC 9728)', () => {
  let server: DevOAuthServer;
  beforeAll(async () => {
    server = await startDevOAuthServer({ audience, clients: [client], resources: [advertised] });
  });
  afterAll(async () => {
    await server.close();
  });

  it('issues a token for an advertised resource, audience-restricted to the server it names', async () => {
    const { status, body } = await tokenFor(server, advertised);
    expect(status).toBe(200);
    expect(decodeJwt(body.access_token!).aud).toBe(audience);
    const identity = await createTokenVerifier({ issuers: [{ issuer: server.issuer }], audience }).verify(
      `Bearer ${body.access_token}`,
    );
    expect(identity.subject).toBe('spec-client');
  });

  it('accepts a resource added after start (a server on an ephemeral port)', async () => {
    const later = 'http://127.0.0.1:40123/mcp';
    expect((await tokenFor(server, later)).body.error).toBe('invalid_target');
    server.acceptResource(later);
    expect((await tokenFor(server, later)).status).toBe(200);
  });

  it('still refuses a resource nobody advertised', async () => {
    const { status, body } = await tokenFor(server, 'https://elsewhere.example/mcp');
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_target');
  });
});

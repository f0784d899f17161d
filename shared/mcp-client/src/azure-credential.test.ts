import {
  type AccessToken,
  AuthenticationError,
  AuthenticationRequiredError,
  ClientCertificateCredential,
  CredentialUnavailableError,
  ManagedIdentityCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { SecretMissingError } from '@mcp-broker/broker-config';
import { describe, expect, it } from 'vitest';
import { type AzureCredentialConfig, createAzureCredential } from './azure-credential.ts';
import { createTokenProvider } from './token-provider.ts';

// Entra, IMDS and AKS token projection cannot run here: these tests cover how the configuration
// becomes an @azure/identity credential, which scope is asked for, caching, and error mapping.

const scope = 'api://mcp-broker/.default';
const workload: AzureCredentialConfig = {
  type: 'workload-identity',
  tenantId: 'tenant-1',
  clientId: 'client-1',
  scope,
};
const managed: AzureCredentialConfig = { type: 'managed-identity', scope };
const certificate: AzureCredentialConfig = {
  type: 'client-certificate',
  tenantId: 'tenant-1',
  clientId: 'client-1',
  certificatePem: { fromEnv: 'WORKER_CERT_PEM' },
  scope,
};
// Shaped like a PEM bundle; @azure/identity only parses it on the first token request.
const pem = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  '-----END PRIVATE KEY-----',
  '-----BEGIN CERTIFICATE-----',
  'MIIDazCCAlOgAwIBAgIUQ2Fk',
  '-----END CERTIFICATE-----',
].join('\n');

/** An @azure/identity TokenCredential stand-in that records the scopes it is asked for. */
function recordingCredential(answer: (call: number) => AccessToken | Error) {
  const scopes: (string | string[])[] = [];
  const credential: TokenCredential = {
    async getToken(requested) {
      scopes.push(requested);
      const result = answer(scopes.length);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return { credential, scopes };
}

describe('createAzureCredential', () => {
  it('builds a workload identity credential from the config, or the AKS token file variable', () => {
    expect(createAzureCredential({ ...workload, tokenFilePath: '/var/run/secrets/token' }, {})).toBeInstanceOf(
      WorkloadIdentityCredential,
    );
    expect(createAzureCredential(workload, { AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/token' })).toBeInstanceOf(
      WorkloadIdentityCredential,
    );
    expect(() => createAzureCredential(workload, {})).toThrow(/federatedTokenFilePath/);
  });

  it('builds a system- or user-assigned managed identity credential', () => {
    expect(createAzureCredential(managed, {})).toBeInstanceOf(ManagedIdentityCredential);
    expect(createAzureCredential({ ...managed, clientId: 'user-assigned-1' }, {})).toBeInstanceOf(
      ManagedIdentityCredential,
    );
  });

  it('builds a client certificate credential from the PEM in the referenced variable', () => {
    expect(createAzureCredential(certificate, { WORKER_CERT_PEM: pem })).toBeInstanceOf(ClientCertificateCredential);
    expect(() => createAzureCredential(certificate, {})).toThrow(SecretMissingError);
    expect(() => createAzureCredential(certificate, {})).toThrow(/WORKER_CERT_PEM/);
    expect(() => createAzureCredential(certificate, { WORKER_CERT_PEM: 'not a pem' })).toThrow(
      /WORKER_CERT_PEM must hold a PEM/,
    );
  });
});

describe('token provider over an @azure/identity credential', () => {
  it('asks the credential for the configured scope and caches until the refresh window', async () => {
    let clock = 1_000_000;
    const { credential, scopes } = recordingCredential((call) => ({
      token: `token-${call}`,
      expiresOnTimestamp: 1_000_000 + 3_600_000,
    }));
    const provider = createTokenProvider(workload, { env: {}, now: () => clock, azureCredential: () => credential });
    const first = await Promise.all(Array.from({ length: 20 }, () => provider.getToken()));
    expect(new Set(first)).toEqual(new Set(['token-1']));
    expect(scopes).toEqual([scope]);
    clock += 3_600_000 - 5 * 60_000 + 1;
    expect(await provider.getToken()).toBe('token-2');
    expect(await provider.getToken({ forceRefresh: true })).toBe('token-3');
    expect(scopes).toEqual([scope, scope, scope]);
  });

  it('passes each credential type and the environment to the factory', async () => {
    const seen: string[] = [];
    const { credential } = recordingCredential(() => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }));
    for (const config of [workload, managed, certificate]) {
      const provider = createTokenProvider(config, {
        env: { WORKER_CERT_PEM: pem },
        azureCredential: (given, env) => {
          seen.push(`${given.type}:${Object.keys(env).join(',')}`);
          return credential;
        },
      });
      await provider.getToken();
    }
    expect(seen).toEqual([
      'workload-identity:WORKER_CERT_PEM',
      'managed-identity:WORKER_CERT_PEM',
      'client-certificate:WORKER_CERT_PEM',
    ]);
  });

  it.each([
    [
      'a 4xx AuthenticationError (invalid_client)',
      new AuthenticationError(401, {
        error: 'invalid_client',
        error_description: 'AADSTS7000215: Invalid client secret.',
      }),
      { kind: 'permanent', code: 'UPSTREAM_AUTH_FAILED', httpStatus: 401, details: { oauthError: 'invalid_client' } },
    ],
    [
      'a 5xx AuthenticationError',
      new AuthenticationError(503, { error: 'temporarily_unavailable', error_description: 'try later' }),
      { kind: 'transient', code: 'UPSTREAM_AUTH_UNAVAILABLE', httpStatus: 503 },
    ],
    [
      'a 429 AuthenticationError',
      new AuthenticationError(429, { error: 'throttled', error_description: 'slow down' }),
      { kind: 'rate_limited', code: 'UPSTREAM_AUTH_UNAVAILABLE', httpStatus: 429 },
    ],
    [
      'a CredentialUnavailableError (managed identity endpoint not answering)',
      new CredentialUnavailableError('ManagedIdentityCredential: no response from the IMDS endpoint'),
      { kind: 'transient', code: 'UPSTREAM_AUTH_UNAVAILABLE' },
    ],
    [
      'an AuthenticationRequiredError',
      new AuthenticationRequiredError({ scopes: [scope], message: 'token file unreadable' }),
      { kind: 'permanent', code: 'UPSTREAM_AUTH_FAILED' },
    ],
  ])('maps %s', async (_name, error, expected) => {
    const { credential } = recordingCredential(() => error);
    const provider = createTokenProvider(managed, { env: {}, azureCredential: () => credential });
    await expect(provider.getToken()).rejects.toMatchObject(expected);
  });

  it('fails the calls of a caller whose credential cannot be built, permanently, without failing construction', async () => {
    const provider = createTokenProvider(workload, { env: {} });
    await expect(provider.getToken()).rejects.toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_AUTH_FAILED',
      message: expect.stringMatching(/workload-identity "client-1" cannot be set up: .*federatedTokenFilePath/),
    });
  });

  it('fails permanently when the federated token file cannot be read (real WorkloadIdentityCredential, no network)', async () => {
    const provider = createTokenProvider(
      { ...workload, tokenFilePath: '/nonexistent/azure-identity-token' },
      { env: {} },
    );
    await expect(provider.getToken()).rejects.toMatchObject({
      kind: 'permanent',
      code: 'UPSTREAM_AUTH_FAILED',
      message: expect.stringContaining('ENOENT'),
    });
  });
});

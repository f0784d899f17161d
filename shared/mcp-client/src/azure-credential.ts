import {
  AuthenticationError,
  AuthenticationRequiredError,
  ClientCertificateCredential,
  CredentialUnavailableError,
  ManagedIdentityCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import type { UpstreamCredentialConfig } from '@mcp-broker/broker-config';
import { resolveSecret } from '@mcp-broker/broker-config';
import { McpCallError } from './mcp-call-error.ts';
import type { TokenSource } from './token-cache.ts';

export type AzureCredentialConfig = Exclude<UpstreamCredentialConfig, { type: 'client-credentials' }>;

/**
 * The `@azure/identity` credential for a configured Entra flow. Values come from the configuration
 * and the passed environment, never from `process.env` behind the caller's back:
 * - `workload-identity`: tenant and client id from the config; the federated token file from the
 *   config or `AZURE_FEDERATED_TOKEN_FILE` (what AKS injects);
 * - `managed-identity`: user-assigned when `clientId` is set, else system-assigned;
 * - `client-certificate`: the PEM (private key and certificate) from the referenced variable.
 * `AZURE_AUTHORITY_HOST` selects a sovereign cloud for the two tenant-bound flows.
 */
export function createAzureCredential(
  credential: AzureCredentialConfig,
  env: Record<string, string | undefined>,
): TokenCredential {
  const authorityHost = env.AZURE_AUTHORITY_HOST ? { authorityHost: env.AZURE_AUTHORITY_HOST } : {};
  switch (credential.type) {
    case 'workload-identity': {
      const tokenFilePath = credential.tokenFilePath ?? env.AZURE_FEDERATED_TOKEN_FILE;
      return new WorkloadIdentityCredential({
        tenantId: credential.tenantId,
        clientId: credential.clientId,
        ...(tokenFilePath ? { tokenFilePath } : {}),
        ...authorityHost,
      });
    }
    case 'managed-identity':
      return credential.clientId
        ? new ManagedIdentityCredential({ clientId: credential.clientId })
        : new ManagedIdentityCredential();
    case 'client-certificate': {
      const certificate = resolveSecret(credential.certificatePem, env);
      // @azure/identity parses the PEM only on the first token request; say what is wrong up front.
      if (
        !/-----BEGIN CERTIFICATE-----/.test(certificate) ||
        !/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(certificate)
      ) {
        throw new TypeError(
          `${credential.certificatePem.fromEnv} must hold a PEM with the certificate and its private key (BEGIN CERTIFICATE and BEGIN PRIVATE KEY blocks).`,
        );
      }
      return new ClientCertificateCredential(credential.tenantId, credential.clientId, { certificate }, authorityHost);
    }
    default:
      return assertNever(credential);
  }
}

/**
 * Tokens from an `@azure/identity` credential for one scope (`api://…/.default`). The credential is
 * built on first use, so a misconfigured caller fails its own calls (permanently) instead of the
 * worker's start. It keeps its own MSAL cache; `TokenCache` on top gives every provider the same
 * early refresh and single-flight behaviour. Failures become `McpCallError`:
 * - permanent `UPSTREAM_AUTH_FAILED`: the credential cannot be built (missing token file, bad PEM,
 *   missing variable), an `AuthenticationError` with a 4xx status (unknown client, bad certificate,
 *   no consent), an `AuthenticationRequiredError` (unreadable federated token file);
 * - `rate_limited` on 429; transient `UPSTREAM_AUTH_UNAVAILABLE` otherwise (network, 5xx, and
 *   `CredentialUnavailableError`, which managed identity raises when its endpoint does not answer).
 */
export function azureCredentialSource(build: () => TokenCredential, scope: string, who: string): TokenSource {
  let credential: TokenCredential | undefined;
  return async () => {
    if (!credential) {
      try {
        credential = build();
      } catch (err) {
        throw new McpCallError('permanent', 'UPSTREAM_AUTH_FAILED', `${who} cannot be set up: ${firstLine(err)}`);
      }
    }
    let token: Awaited<ReturnType<TokenCredential['getToken']>>;
    try {
      token = await credential.getToken(scope);
    } catch (err) {
      throw azureError(err, who);
    }
    if (!token) {
      throw new McpCallError('permanent', 'UPSTREAM_AUTH_FAILED', `No token from ${who} for scope "${scope}".`);
    }
    return { token: token.token, expiresAtMs: token.expiresOnTimestamp };
  };
}

function azureError(err: unknown, who: string): McpCallError {
  const message = firstLine(err);
  if (err instanceof AuthenticationError) {
    const status = err.statusCode;
    const oauthError = err.errorResponse?.error;
    const facts = { httpStatus: status, ...(oauthError ? { details: { oauthError } } : {}) };
    const text = `${who} could not authenticate (HTTP ${status}${oauthError ? ` ${oauthError}` : ''}): ${message}`;
    if (status === 429) return new McpCallError('rate_limited', 'UPSTREAM_AUTH_UNAVAILABLE', text, facts);
    if (status >= 400 && status < 500 && status !== 408)
      return new McpCallError('permanent', 'UPSTREAM_AUTH_FAILED', text, facts);
    return new McpCallError('transient', 'UPSTREAM_AUTH_UNAVAILABLE', text, facts);
  }
  if (err instanceof AuthenticationRequiredError) {
    return new McpCallError('permanent', 'UPSTREAM_AUTH_FAILED', `${who} could not authenticate: ${message}`);
  }
  if (err instanceof CredentialUnavailableError) {
    return new McpCallError('transient', 'UPSTREAM_AUTH_UNAVAILABLE', `${who} is unavailable: ${message}`);
  }
  return new McpCallError('transient', 'UPSTREAM_AUTH_UNAVAILABLE', `${who} could not obtain a token: ${message}`);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 400);
}

function assertNever(value: never): never {
  throw new TypeError(`Unsupported upstream credential: ${JSON.stringify(value)}`);
}

import type { UpstreamCredentialConfig } from '@mcp-broker/broker-config';
import { resolveSecret } from '@mcp-broker/broker-config';
import {
  AuthenticationError,
  ClientCertificateCredential,
  CredentialUnavailableError,
  ManagedIdentityCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
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
      return credential.clientId ? new ManagedIdentityCredential({ clientId: credential.clientId }) : new ManagedIdentityCredential();
    case 'client-certificate':
      return new ClientCertificateCredential(
        credential.tenantId,
        credential.clientId,
        { certificate: resolveSecret(credential.certificatePem, env) },
        authorityHost,
      );
    default:
      return assertNever(credential);
  }
}

/**
 * Tokens from an `@azure/identity` credential for one scope (`api://…/.default`). The credential
 * keeps its own MSAL cache; `TokenCache` on top gives every provider the same early refresh and
 * single-flight behaviour. Failures become `McpCallError`: an `AuthenticationError` with a 4xx status
 * (bad certificate, unknown client, missing consent) or a `CredentialUnavailableError` (the
 * environment does not offer this flow) is permanent; anything else (network, 5xx) is transient.
 */
export function azureCredentialSource(credential: TokenCredential, scope: string, who: string): TokenSource {
  return async () => {
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
  const message = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 400) : String(err);
  if (err instanceof CredentialUnavailableError) {
    return new McpCallError('permanent', 'UPSTREAM_AUTH_FAILED', `${who} is unavailable here: ${message}`);
  }
  if (err instanceof AuthenticationError) {
    const status = err.statusCode;
    const oauthError = err.errorResponse?.error;
    const details = oauthError ? { oauthError } : undefined;
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    return new McpCallError(
      permanent ? 'permanent' : 'transient',
      permanent ? 'UPSTREAM_AUTH_FAILED' : 'UPSTREAM_AUTH_UNAVAILABLE',
      `${who} could not authenticate (HTTP ${status}${oauthError ? ` ${oauthError}` : ''}): ${message}`,
      { httpStatus: status, ...(details ? { details } : {}) },
    );
  }
  return new McpCallError('transient', 'UPSTREAM_AUTH_UNAVAILABLE', `${who} could not obtain a token: ${message}`);
}

function assertNever(value: never): never {
  throw new TypeError(`Unsupported upstream credential: ${JSON.stringify(value)}`);
}

/// <reference path="./oidc-provider.d.ts" />
import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Provider, { errors } from 'oidc-provider';
import { createMemoryAdapter } from './memory-adapter.ts';

/** A confidential client allowed the client-credentials grant. */
export interface DevOAuthClient {
  /** OAuth client id; also the token's `sub` and `client_id`. */
  clientId: string;
  /** Client secret, sent with HTTP Basic or in the form body. */
  clientSecret: string;
  /** App roles put in the token's `roles` claim, like an Entra app-only token. */
  roles: string[];
}

export interface DevOAuthServerOptions {
  /** Port to listen on; default 0 (an ephemeral port). */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** The issuer (`iss`) when clients reach the server by another name than host:port (a Compose service name). */
  issuer?: string;
  /** Resource server identifier put in every token's `aud`, e.g. `api://mcp-broker`. */
  audience: string;
  /**
   * Further resource indicators (RFC 8707 `resource`) that name the same resource server, such as
   * the URLs its RFC 9728 metadata advertises as `resource`. A token requested for one of them
   * carries `aud` = `audience`, which is what that server checks (as Entra maps an API's
   * identifier URIs to one audience). Any other indicator is `invalid_target`.
   */
  resources?: readonly string[];
  /** The clients that may obtain tokens. */
  clients: DevOAuthClient[];
  /** Access token lifetime in seconds; default 3600. */
  accessTokenTtlSeconds?: number;
  /** Receives unexpected server errors; default writes the message to stderr. */
  onServerError?: (error: Error) => void;
}

export interface DevOAuthServer {
  /** Issuer identifier (`iss`), e.g. `http://127.0.0.1:51234`; discovery is at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** Where clients POST `grant_type=client_credentials`. */
  readonly tokenEndpoint: string;
  /** Accepts one more resource indicator for `audience`, e.g. once a resource server's port is known. */
  acceptResource(indicator: string): void;
  /** Obtains an access token over HTTP with the client-credentials grant; rejects with the server's OAuth error. */
  issueToken(clientId: string, clientSecret: string, scope?: string): Promise<string>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Signing key generated per start, so no key material is ever committed or reused. */
async function generateSigningJwks(): Promise<{ keys: Record<string, unknown>[] }> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' }] };
}

async function createProvider(
  issuer: string,
  options: DevOAuthServerOptions,
  rolesByClient: ReadonlyMap<string, string[]>,
  ttl: number,
  acceptedResources: ReadonlySet<string>,
): Promise<Provider> {
  const provider = new Provider(issuer, {
    adapter: createMemoryAdapter(),
    jwks: await generateSigningJwks(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      // oidc-provider v9 takes the secret from Basic or the form body for either registered method.
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    clientBasedCORS: () => false,
    ttl: { ClientCredentials: ttl },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => options.audience,
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resourceIndicator, client) {
          if (!acceptedResources.has(resourceIndicator)) throw new errors.InvalidTarget();
          return {
            // Per-client roles: a scope request can then only narrow the `scope` claim, never add another client's role.
            scope: (rolesByClient.get(client.clientId) ?? []).join(' '),
            audience: options.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    async extraTokenClaims(_ctx, token) {
      const roles = token.clientId === undefined ? undefined : rolesByClient.get(token.clientId);
      return roles === undefined ? undefined : { roles };
    },
  });
  const report = options.onServerError ?? ((error: Error) => process.stderr.write(`dev-oauth: ${error.message}\n`));
  provider.on('server_error', (_ctx, error) => report(error));
  return provider;
}

/**
 * Starts a development OAuth 2.0 authorization server (oidc-provider) that issues RS256 JWT access
 * tokens for the client-credentials grant, shaped like Entra ID app-only tokens.
 */
export async function startDevOAuthServer(options: DevOAuthServerOptions): Promise<DevOAuthServer> {
  const host = options.host ?? '127.0.0.1';
  const ttl = options.accessTokenTtlSeconds ?? 3600;
  const rolesByClient = new Map(options.clients.map((client) => [client.clientId, [...client.roles]]));
  if (rolesByClient.size !== options.clients.length) throw new TypeError('client ids must be unique');
  const acceptedResources = new Set<string>([options.audience]);
  const acceptResource = (indicator: string) => {
    // RFC 8707 §2: an absolute URI without a fragment; oidc-provider refuses anything else before asking.
    if (!URL.canParse(indicator) || indicator.includes('#')) {
      throw new TypeError(`resource indicator "${indicator}" must be an absolute URI without a fragment`);
    }
    acceptedResources.add(indicator);
  };
  for (const indicator of options.resources ?? []) acceptResource(indicator);

  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handle === undefined) res.writeHead(503).end();
    else handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  // The issuer must name the bound port, which an ephemeral listen only reveals afterwards.
  const issuer = options.issuer ?? `http://${urlHost(host)}:${(server.address() as AddressInfo).port}`;

  const closeServer = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error === undefined ? resolve() : reject(error)));
    });

  let provider: Provider;
  try {
    provider = await createProvider(issuer, options, rolesByClient, ttl, acceptedResources);
  } catch (error) {
    await closeServer();
    throw error;
  }
  handle = provider.callback();

  const tokenEndpoint = provider.urlFor('token');

  async function issueToken(clientId: string, clientSecret: string, scope?: string): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) form.set('scope', scope);
    // RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
    const credentials = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
      body: form,
    });
    const body = (await response.json()) as { access_token?: unknown; error?: unknown; error_description?: unknown };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new Error(
        `token request for client "${clientId}" failed with HTTP ${response.status}: ${String(body.error)} (${String(body.error_description)})`,
      );
    }
    return body.access_token;
  }

  return {
    issuer,
    tokenEndpoint,
    acceptResource,
    issueToken,
    close: closeServer,
  };
}

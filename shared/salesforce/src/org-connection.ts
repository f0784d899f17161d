import { createPrivateKey, type KeyObject } from 'node:crypto';
import { resolveSecret, type SalesforceOrgConfig, SecretMissingError } from '@mcp-broker/broker-config';
import { SignJWT } from 'jose';
import type { Connection } from 'jsforce';
import jsforce from 'jsforce';
import { networkErrorCode } from './network-error.ts';
import { type SalesforceLogger, silentLogger } from './salesforce-logger.ts';
import { SalesforceLoginError } from './salesforce-login-error.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** How long a JWT bearer assertion is valid: Salesforce accepts at most 3 minutes. */
const ASSERTION_LIFETIME_SECONDS = 180;

export interface OrgConnectionOptions {
  /** The org's configuration (secrets only by reference). */
  org: SalesforceOrgConfig;
  /** Where secret references are resolved; read at each login, values never kept. */
  env: Record<string, string | undefined>;
  /** Logs logins and re-logins (never secrets or tokens). Default: silent. */
  logger?: SalesforceLogger;
}

type Grant = { params: { grant_type: string; [name: string]: string }; secrets: string[] };

/** Whether an error is Salesforce refusing the session (REST 401 `INVALID_SESSION_ID`). */
export function isSessionRefused(error: unknown): boolean {
  const code = (error as { errorCode?: unknown } | null)?.errorCode;
  return code === 'INVALID_SESSION_ID' || code === 'ERROR_HTTP_401';
}

/** jsforce wraps a failed `refreshFn` as `Error("Unable to refresh session due to: …")`. */
const REFRESH_FAILURE = /^Unable to refresh session due to: /;

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** A PEM held in an environment variable often has its line breaks written as `\n`. */
const normalisePem = (pem: string) => (pem.includes('\n') ? pem : pem.replaceAll('\\n', '\n')).trim();

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}

/**
 * One connected org: an authenticated jsforce `Connection`, logged in on first use with the org's
 * flow (client credentials or JWT bearer), one login in flight at a time.
 *
 * Every login builds a new `Connection`; each carries a `refreshFn` that logs in again (jsforce's
 * own refresher needs a refresh token, which neither server-to-server flow issues), so jsforce
 * itself recovers a request that meets an expired session. `withSession` adds one retry of the
 * whole operation for a session refused even so.
 */
export class OrgConnection {
  /** The org id from the configuration. */
  readonly id: string;
  /** The caller the org belongs to: only its tool calls may write to the org. */
  readonly caller: string;
  readonly #org: SalesforceOrgConfig;
  readonly #env: Record<string, string | undefined>;
  readonly #logger: SalesforceLogger;
  readonly #loginUrl: string;
  #current: Connection | undefined;
  /** The access token the latest login issued. */
  #issuedToken: string | undefined;
  #loginInFlight: Promise<Connection> | undefined;
  #lastLoginFailure: SalesforceLoginError | undefined;
  #closed = false;

  constructor(options: OrgConnectionOptions) {
    this.#org = options.org;
    this.#env = options.env;
    this.#logger = options.logger ?? silentLogger;
    this.#loginUrl = trimSlash(options.org.loginUrl);
    this.id = options.org.id;
    this.caller = options.org.caller;
  }

  /** The authenticated connection; logs in on first use. */
  connection(): Promise<Connection> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#current) return Promise.resolve(this.#current);
    return this.#loginInFlight ?? this.#startLogin('first use');
  }

  /** Logs in again (joining a login already in flight) and returns the new connection. */
  reauthenticate(): Promise<Connection> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#loginInFlight ?? this.#startLogin('reauthenticate');
  }

  /**
   * Runs `fn` with the connection. When Salesforce refuses the session (`INVALID_SESSION_ID`, 401)
   * it logs in again (unless another caller already has) and runs `fn` once more, so the request
   * in hand is not lost. A failed re-login surfaces as the `SalesforceLoginError` behind it.
   */
  async withSession<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await this.connection();
    try {
      return await fn(conn);
    } catch (error) {
      const cause = this.#unwrapRefreshFailure(error);
      if (!isSessionRefused(cause)) throw cause;
      this.#logger.info({ org: this.id }, 'Salesforce refused the session; logging in again and retrying once');
      const fresh = await this.#renewUnless(conn.accessToken ?? undefined, 'session refused');
      try {
        return await fn(fresh);
      } catch (retryError) {
        throw this.#unwrapRefreshFailure(retryError);
      }
    }
  }

  /** Drops the session; later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#current = undefined;
    this.#issuedToken = undefined;
    await this.#loginInFlight?.catch(() => undefined);
  }

  /** A new login unless one has already replaced `staleToken` (or is under way). */
  #renewUnless(staleToken: string | undefined, reason: string): Promise<Connection> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#loginInFlight) return this.#loginInFlight;
    if (this.#current && this.#issuedToken !== staleToken) return Promise.resolve(this.#current);
    return this.#startLogin(reason);
  }

  #startLogin(reason: string): Promise<Connection> {
    const login = this.#logIn(reason).finally(() => {
      this.#loginInFlight = undefined;
    });
    this.#loginInFlight = login;
    return login;
  }

  async #logIn(reason: string): Promise<Connection> {
    const flow = this.#org.auth.type;
    const conn = new jsforce.Connection({
      loginUrl: this.#loginUrl,
      oauth2: { loginUrl: this.#loginUrl },
      version: this.#org.apiVersion,
      refreshFn: (stale, callback) => {
        this.#renewUnless(stale.accessToken ?? undefined, 'session expired').then(
          (fresh) => {
            stale.instanceUrl = fresh.instanceUrl;
            callback(null, fresh.accessToken ?? undefined);
          },
          (error: Error) => callback(error),
        );
      },
    });
    let secrets: string[] = [];
    try {
      const grant = await this.#grant();
      secrets = grant.secrets;
      await conn.authorize(grant.params);
    } catch (error) {
      const failure = this.#loginFailure(error, secrets);
      this.#lastLoginFailure = failure;
      this.#logger.warn(
        { org: this.id, flow, reason, error: failure.error, description: failure.description },
        'Salesforce login failed',
      );
      throw failure;
    }
    if (this.#closed) throw this.#closedError();
    this.#current = conn;
    this.#issuedToken = conn.accessToken ?? undefined;
    this.#lastLoginFailure = undefined;
    this.#logger.info({ org: this.id, flow, reason, instanceUrl: conn.instanceUrl }, 'Salesforce login succeeded');
    return conn;
  }

  /** The token request's parameters, and the secret values in them (to keep out of messages). */
  async #grant(): Promise<Grant> {
    const auth = this.#org.auth;
    if (auth.type === 'client-credentials') {
      const secret = resolveSecret(auth.clientSecret, this.#env);
      return {
        params: { grant_type: 'client_credentials', client_id: auth.clientId, client_secret: secret },
        secrets: [secret],
      };
    }
    const pem = normalisePem(resolveSecret(auth.privateKey, this.#env));
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      throw new SalesforceLoginError({
        orgId: this.id,
        flow: auth.type,
        error: 'invalid_private_key',
        description: `the value of ${auth.privateKey.fromEnv} is not a PEM private key`,
        transient: false,
      });
    }
    let assertion: string;
    try {
      assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(auth.clientId)
        .setSubject(auth.username)
        .setAudience(auth.audience ? trimSlash(auth.audience) : this.#loginUrl)
        .setExpirationTime(Math.floor(Date.now() / 1000) + ASSERTION_LIFETIME_SECONDS)
        .sign(key);
    } catch {
      throw new SalesforceLoginError({
        orgId: this.id,
        flow: auth.type,
        error: 'invalid_private_key',
        description: `the key in ${auth.privateKey.fromEnv} cannot sign RS256 (an RSA private key is needed)`,
        transient: false,
      });
    }
    return { params: { grant_type: JWT_BEARER_GRANT, assertion }, secrets: [pem, assertion] };
  }

  #loginFailure(error: unknown, secrets: readonly string[]): SalesforceLoginError {
    if (error instanceof SalesforceLoginError) return error;
    const base = { orgId: this.id, flow: this.#org.auth.type };
    if (error instanceof SecretMissingError) {
      return new SalesforceLoginError({
        ...base,
        error: 'secret_missing',
        description: error.message,
        transient: false,
      });
    }
    const network = networkErrorCode(error);
    if (network) {
      return new SalesforceLoginError({
        ...base,
        error: 'unreachable',
        description: `cannot reach ${this.#loginUrl}: ${network}`,
        transient: true,
      });
    }
    const name = (error as Error).name ?? 'Error';
    const description = redact(String((error as Error).message ?? error), secrets).slice(0, 500);
    // jsforce's OAuth2 throws Salesforce's `error` as the name and `error_description` as the message.
    const status = /^ERROR_HTTP_(\d{3})$/.exec(name)?.[1];
    const isOAuthError = /^[a-z_]+$/.test(name) || status !== undefined;
    if (!isOAuthError) {
      return new SalesforceLoginError({ ...base, error: 'unexpected', description, transient: true });
    }
    const statusNumber = Number(status ?? 400);
    const transient = name === 'unknown_error' || statusNumber >= 500 || statusNumber === 429 || statusNumber === 408;
    return new SalesforceLoginError({ ...base, error: name, description, transient });
  }

  /** jsforce reports a failed `refreshFn` as a plain Error; give back the login failure behind it. */
  #unwrapRefreshFailure(error: unknown): unknown {
    if (error instanceof Error && REFRESH_FAILURE.test(error.message) && this.#lastLoginFailure) {
      return this.#lastLoginFailure;
    }
    return error;
  }

  #closedError(): Error {
    return new Error(`The connection to Salesforce org "${this.id}" is closed.`);
  }
}

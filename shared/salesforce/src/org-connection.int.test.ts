import { createServer } from 'node:net';
import { salesforceOrgSchema } from '@mcp-broker/broker-config';
import { startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import jsforce from 'jsforce';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CALLER,
  clientCredentialsOrg,
  LogRecorder,
  ORG,
  type SandboxOrg,
  SECRET_VAR,
  startSandboxOrg,
} from '../test-support/salesforce.ts';
import { OrgConnection } from './org-connection.ts';
import { OrgConnections } from './org-connections.ts';
import { SalesforceLoginError } from './salesforce-login-error.ts';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('OrgConnection: client credentials', () => {
  let org: SandboxOrg;
  beforeAll(async () => {
    org = await startSandboxOrg();
  });
  afterAll(() => org.close());
  afterEach(() => org.sandbox.faults.clear());

  function connection(env = org.env, logs = new LogRecorder()) {
    return { logs, connection: new OrgConnection({ org: clientCredentialsOrg(org.sandbox), env, logger: logs }) };
  }

  it('logs in on first use and reuses the session afterwards', async () => {
    const { connection: sf, logs } = connection();
    const conn = await sf.connection();
    expect(conn.instanceUrl).toBe(org.sandbox.instanceUrl);
    expect(conn.userInfo?.organizationId).toBe(org.sandbox.orgId);
    expect(await sf.connection()).toBe(conn);
    const saved = await conn.sobject('Account').create({ Name: 'Client Credentials Ltd' });
    expect(saved.success).toBe(true);
    expect(logs.logins()).toBe(1);
    expect(logs.entries[0]).toMatchObject({ fields: { org: ORG, flow: 'client-credentials', reason: 'first use' } });
  });

  it('has one login in flight at a time, however many ask for the connection', async () => {
    const { connection: sf, logs } = connection();
    const conns = await Promise.all([sf.connection(), sf.connection(), sf.connection(), sf.reauthenticate()]);
    expect(new Set(conns).size).toBe(1);
    expect(logs.logins()).toBe(1);
  });

  it('reauthenticate forces a new login and returns the new connection; concurrent calls share it', async () => {
    const { connection: sf, logs } = connection();
    const first = await sf.connection();
    const [a, b] = await Promise.all([sf.reauthenticate(), sf.reauthenticate()]);
    expect(a).toBe(b);
    expect(a).not.toBe(first);
    expect(a.accessToken).not.toBe(first.accessToken);
    expect(await sf.connection()).toBe(a);
    expect(logs.logins()).toBe(2);
  });

  it('refuses a wrong client secret with Salesforce’s error, naming the org, without the secret', async () => {
    const wrongSecret = 'wrong-secret-value-1234';
    const { connection: sf, logs } = connection({ [SECRET_VAR]: wrongSecret });
    const error = await sf.connection().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SalesforceLoginError);
    expect(error).toMatchObject({
      orgId: ORG,
      error: 'invalid_client',
      description: 'invalid client credentials',
      transient: false,
      message: `Salesforce login to org "${ORG}" failed (client-credentials): invalid_client: invalid client credentials`,
    });
    expect(JSON.stringify(error)).not.toContain(wrongSecret);
    expect(String((error as Error).stack)).not.toContain(wrongSecret);
    expect(logs.entries).toEqual([expect.objectContaining({ level: 'warn', message: 'Salesforce login failed' })]);
    expect(logs.text()).not.toContain(wrongSecret);
  });

  it('names the environment variable (not a value) when the secret is not set', async () => {
    const { connection: sf } = connection({});
    await expect(sf.connection()).rejects.toMatchObject({
      name: 'SalesforceLoginError',
      error: 'secret_missing',
      transient: false,
      message: expect.stringContaining(SECRET_VAR),
    });
  });

  it('reports an unreachable login URL as a transient login failure', async () => {
    const port = await closedPort();
    const sf = new OrgConnection({
      org: { ...clientCredentialsOrg(org.sandbox), loginUrl: `http://127.0.0.1:${port}` },
      env: org.env,
    });
    await expect(sf.connection()).rejects.toMatchObject({
      error: 'unreachable',
      transient: true,
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('after the org expires every session, a write succeeds after exactly one re-login', async () => {
    const { connection: sf, logs } = connection();
    await sf.connection();
    org.sandbox.faults.expireSessions();
    const saved = await sf.withSession((conn) => conn.sobject('Account').create({ Name: 'After Expiry Ltd' }));
    expect(saved.success).toBe(true);
    expect(logs.logins()).toBe(2);
    expect(logs.loginReasons()).toEqual(['first use', 'session expired']);
  });

  it('concurrent requests that meet an expired session share one re-login', async () => {
    const { connection: sf, logs } = connection();
    await sf.connection();
    org.sandbox.faults.expireSessions();
    const saved = await Promise.all(
      [1, 2, 3].map((n) => sf.withSession((conn) => conn.sobject('Account').create({ Name: `Concurrent ${n}` }))),
    );
    expect(saved.map((s) => s.success)).toEqual([true, true, true]);
    expect(logs.logins()).toBe(2);
  });

  it('withSession logs in again and retries once when the session is refused after all', async () => {
    const { connection: sf, logs } = connection();
    await sf.connection();
    org.sandbox.faults.expireSessions();
    let attempts = 0;
    // A bare connection (no refresher) with the session's token: Salesforce's 401 reaches withSession.
    const saved = await sf.withSession((conn) => {
      attempts += 1;
      const bare = new jsforce.Connection({
        instanceUrl: conn.instanceUrl,
        accessToken: conn.accessToken ?? '',
        version: org.sandbox.apiVersion,
      });
      return bare.sobject('Account').create({ Name: 'Retried Ltd' });
    });
    expect(saved.success).toBe(true);
    expect(attempts).toBe(2);
    expect(logs.logins()).toBe(2);
    expect(logs.loginReasons()).toEqual(['first use', 'session refused']);
  });

  it('a re-login that fails during a request surfaces as the login error, not jsforce’s wrapper', async () => {
    const env = { ...org.env };
    const { connection: sf } = connection(env);
    await sf.connection();
    env[SECRET_VAR] = 'rotated-away-secret';
    org.sandbox.faults.expireSessions();
    await expect(
      sf.withSession((conn) => conn.sobject('Account').create({ Name: 'Never Saved' })),
    ).rejects.toMatchObject({ name: 'SalesforceLoginError', error: 'invalid_client', transient: false });
  });

  it('refuses use after close', async () => {
    const { connection: sf } = connection();
    await sf.connection();
    await sf.close();
    await expect(sf.connection()).rejects.toThrow(`The connection to Salesforce org "${ORG}" is closed.`);
  });
});

describe('OrgConnection: JWT bearer', () => {
  const USERNAME = 'integration@acme.example';
  let sandbox: Awaited<ReturnType<typeof startSalesforceSandbox>>;
  let privateKeyPem: string;

  beforeAll(async () => {
    const keys = await generateKeyPair('RS256', { extractable: true });
    privateKeyPem = await exportPKCS8(keys.privateKey);
    sandbox = await startSalesforceSandbox({ jwtPublicKey: await exportSPKI(keys.publicKey), username: USERNAME });
  });
  afterAll(() => sandbox.close());

  const jwtOrg = (username = USERNAME, audience?: string) =>
    salesforceOrgSchema.parse({
      id: ORG,
      caller: CALLER,
      loginUrl: `${sandbox.loginUrl}/`,
      apiVersion: sandbox.apiVersion,
      auth: {
        type: 'jwt-bearer',
        clientId: sandbox.clientId,
        username,
        privateKey: { fromEnv: 'ACME_SF_KEY' },
        ...(audience ? { audience } : {}),
      },
    });

  it('puts the configured audience in the assertion instead of the login URL', async () => {
    const right = new OrgConnection({
      org: jwtOrg(USERNAME, `${sandbox.loginUrl}/`),
      env: { ACME_SF_KEY: privateKeyPem },
    });
    expect((await right.connection()).accessToken).toBeTruthy();
    // The sandbox, like Salesforce, accepts only its own login URL as the audience.
    const wrong = new OrgConnection({
      org: jwtOrg(USERNAME, 'https://test.salesforce.com'),
      env: { ACME_SF_KEY: privateKeyPem },
    });
    await expect(wrong.connection()).rejects.toMatchObject({
      error: 'invalid_grant',
      description: 'audience is invalid',
    });
  });

  it('logs in with an RS256 assertion (iss client id, sub username, aud login URL) signed by the configured key', async () => {
    const logs = new LogRecorder();
    const sf = new OrgConnection({ org: jwtOrg(), env: { ACME_SF_KEY: privateKeyPem }, logger: logs });
    const saved = await sf.withSession((conn) => conn.sobject('Account').create({ Name: 'Signed In Ltd' }));
    expect(saved.success).toBe(true);
    expect(logs.entries[0]).toMatchObject({ fields: { flow: 'jwt-bearer' }, message: 'Salesforce login succeeded' });
  });

  it('accepts a key whose line breaks are written as \\n in the environment', async () => {
    const sf = new OrgConnection({ org: jwtOrg(), env: { ACME_SF_KEY: privateKeyPem.replaceAll('\n', '\\n') } });
    expect((await sf.connection()).accessToken).toBeTruthy();
  });

  it('re-logs in by JWT bearer after the org expires sessions', async () => {
    const logs = new LogRecorder();
    const sf = new OrgConnection({ org: jwtOrg(), env: { ACME_SF_KEY: privateKeyPem }, logger: logs });
    await sf.connection();
    sandbox.faults.expireSessions();
    const saved = await sf.withSession((conn) => conn.sobject('Account').create({ Name: 'Signed Again Ltd' }));
    expect(saved.success).toBe(true);
    expect(logs.logins()).toBe(2);
  });

  it('a key the org does not know gives invalid_grant without the key or assertion in the message', async () => {
    const otherPem = await exportPKCS8((await generateKeyPair('RS256', { extractable: true })).privateKey);
    const logs = new LogRecorder();
    const sf = new OrgConnection({ org: jwtOrg(), env: { ACME_SF_KEY: otherPem }, logger: logs });
    const error = (await sf.connection().catch((e: unknown) => e)) as SalesforceLoginError;
    expect(error).toMatchObject({ error: 'invalid_grant', description: 'invalid assertion', transient: false });
    expect(error.message).toBe(
      `Salesforce login to org "${ORG}" failed (jwt-bearer): invalid_grant: invalid assertion`,
    );
    const keyBody = otherPem.split('\n')[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(20);
    expect(JSON.stringify(error) + error.message + logs.text()).not.toContain(keyBody);
  });

  it('an integration user the app does not know gives Salesforce’s invalid_grant', async () => {
    const sf = new OrgConnection({ org: jwtOrg('someone@else.example'), env: { ACME_SF_KEY: privateKeyPem } });
    await expect(sf.connection()).rejects.toMatchObject({
      error: 'invalid_grant',
      description: "user hasn't approved this consumer",
    });
  });

  it('a value that is not a private key is refused before Salesforce is asked', async () => {
    const sf = new OrgConnection({ org: jwtOrg(), env: { ACME_SF_KEY: 'not-a-pem-private-key' } });
    await expect(sf.connection()).rejects.toMatchObject({
      error: 'invalid_private_key',
      transient: false,
      message: expect.not.stringContaining('not-a-pem-private-key'),
    });
  });
});

describe('OrgConnections', () => {
  let org: SandboxOrg;
  beforeAll(async () => {
    org = await startSandboxOrg();
  });
  afterAll(() => org.close());

  it('gives each configured org its connection and refuses an unknown org clearly', async () => {
    expect(org.orgs.get(ORG)).toMatchObject({ id: ORG, caller: CALLER });
    expect(org.orgs.find('nope')).toBeUndefined();
    expect(() => org.orgs.get('nope')).toThrow(
      'No Salesforce org "nope" is configured (configured: acme-prod, globex-prod).',
    );
    expect(org.orgs.list()).toEqual([
      { id: ORG, caller: CALLER },
      { id: 'globex-prod', caller: 'globex' },
    ]);
  });

  it('refuses an org configured twice', () => {
    const config = clientCredentialsOrg(org.sandbox);
    expect(() => new OrgConnections({ orgs: [config, config], env: {} })).toThrow(
      `Salesforce org "${ORG}" is configured twice.`,
    );
  });

  it('close ends every connection', async () => {
    const orgs = new OrgConnections({ orgs: [clientCredentialsOrg(org.sandbox)], env: org.env });
    await orgs.get(ORG).connection();
    await orgs.close();
    await expect(orgs.get(ORG).connection()).rejects.toThrow(/closed/);
  });
});

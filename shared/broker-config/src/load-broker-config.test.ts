import { describe, expect, it } from 'vitest';
import { BrokerConfigError, parseBrokerConfig } from './load-broker-config.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';
import { resolveSecret } from './secret-ref.ts';

const valid = `
endpoints:
  local:
    url: http://127.0.0.1:3001/mcp
callers:
  - id: salesforce-prod
    auth: { type: jwt, issuer: "https://login.microsoftonline.com/t/v2.0", audience: broker-app, subjects: [oid-1] }
    upstream:
      endpoint: local
      credential:
        type: client-credentials
        tokenUrl: https://login.microsoftonline.com/t/oauth2/v2.0/token
        clientId: sf-app
        clientSecret: { fromEnv: SF_CLIENT_SECRET }
        scope: api://mcp-broker/.default
    tools: [query_customer_data]
    callbackHosts: [hooks.example.com]
`;

describe('broker configuration', () => {
  it('parses YAML and applies defaults', () => {
    const config = parseBrokerConfig(valid);
    expect(config.endpoints.local).toMatchObject({ transport: 'streamable-http', callTimeoutMs: 120_000 });
    expect(config.callers[0]).toMatchObject({ limits: { concurrency: 4, callsPerMinute: 120 }, admin: false });
  });

  it('accepts JSON too', () => {
    const json = JSON.stringify({
      endpoints: { local: { url: 'http://127.0.0.1:3001/mcp' } },
      callers: [
        {
          id: 'apex',
          auth: { type: 'basic', username: 'apex', passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==' },
          upstream: {
            endpoint: 'local',
            credential: { type: 'managed-identity', scope: 'api://mcp-broker/.default' },
          },
          tools: ['*'],
        },
      ],
    });
    expect(parseBrokerConfig(json).callers[0]?.id).toBe('apex');
  });

  it('refuses an inline secret, naming the field', () => {
    const inline = valid.replace('clientSecret: { fromEnv: SF_CLIENT_SECRET }', 'clientSecret: hunter2-inline');
    expect(() => parseBrokerConfig(inline)).toThrow(BrokerConfigError);
    try {
      parseBrokerConfig(inline);
    } catch (err) {
      expect((err as Error).message).toContain('callers.0.upstream.credential.clientSecret');
      expect((err as Error).message).not.toContain('hunter2-inline');
    }
  });

  it('names an unknown endpoint and a duplicate caller', () => {
    const bad = `${valid.replace('endpoint: local', 'endpoint: nowhere')}${valid.split('callers:\n')[1]}`;
    expect(() => parseBrokerConfig(bad)).toThrow(/unknown endpoint "nowhere".*|duplicate caller id/s);
  });

  it('reports malformed YAML clearly', () => {
    expect(() => parseBrokerConfig('endpoints: [', 'broker.yaml')).toThrow(/^broker.yaml: not valid YAML/);
  });

  it('resolves a secret reference only when used, naming a missing variable', () => {
    expect(resolveSecret({ fromEnv: 'X_SECRET' }, { X_SECRET: 'v' })).toBe('v');
    expect(() => resolveSecret({ fromEnv: 'X_SECRET' }, {})).toThrow('Environment variable X_SECRET');
  });

  it('hashes and verifies Basic passwords with scrypt', async () => {
    const hash = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('wrong', hash)).toBe(false);
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
  });
});

describe('secrets check at start', () => {
  it('names every referenced variable that is not set', async () => {
    const { assertSecretsPresent } = await import('./check-secrets.ts');
    const config = parseBrokerConfig(valid);
    expect(() => assertSecretsPresent(config, {})).toThrow('not set: SF_CLIENT_SECRET.');
    expect(() => assertSecretsPresent(config, { SF_CLIENT_SECRET: 'x' })).not.toThrow();
  });
});

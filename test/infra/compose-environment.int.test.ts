import { readFileSync } from 'node:fs';
import { parseBrokerConfig } from '@mcp-broker/broker-config';
import { devOAuthEnvSchema } from '@mcp-broker/dev-oauth';
import { ingressConfigSchema } from '@mcp-broker/ingress';
import { mcpServerConfigSchema, serverToolPermissions } from '@mcp-broker/mcp-server';
import { workerConfigSchema } from '@mcp-broker/worker';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// An int test only by the tier rule: it reads the dev OAuth server's (a peer's) environment schema.
// It starts nothing; no Docker engine runs here, so the Compose stack is checked on paper.
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
/**
 * What Compose hands a service: `${X:-default}` as its default, `${X:?message}` as a stand-in value
 * (Compose stops without one), `${X}` or no value as unset. Values the user's shell or .env sets
 * are not known here; the defaults must work on their own.
 */
function interpolate(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  let unset = false;
  const text = String(value).replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, _name, kind, rest) => {
    if (kind === '-') return rest;
    if (kind === '?') return 'stand-in-secret';
    unset = true;
    return '';
  });
  return unset && text === '' ? undefined : text;
}

describe('docker-compose.yml environments against the configuration schemas', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, { environment?: Record<string, unknown>; volumes?: string[]; env_file?: unknown }>;
  };
  const environment = (name: string) =>
    Object.fromEntries(
      Object.entries(compose.services[name]?.environment ?? {}).flatMap(([k, v]) => {
        const value = interpolate(v);
        return value === undefined ? [] : [[k, value]];
      }),
    ) as Record<string, string>;
  const schemas = {
    'mcp-server': mcpServerConfigSchema,
    ingress: ingressConfigSchema,
    worker: workerConfigSchema,
    'dev-oauth': devOAuthEnvSchema,
  } as const;
  const mounted = parseBrokerConfig(read('config/broker.yaml'), 'config/broker.yaml');
  /** Every environment variable the mounted configuration references (`fromEnv`). */
  const referenced = new Set([...JSON.stringify(mounted).matchAll(/"fromEnv":"(\w+)"/g)].map((m) => m[1]));
  const serviceNames = new Set(Object.keys(compose.services));
  const hostOf = (url: string) => new URL(url).hostname;

  it.each(Object.entries(schemas))(
    '%s: every variable is one its schema reads, and the defaults parse',
    (name, schema) => {
      const keys = Object.keys(compose.services[name]?.environment ?? {});
      expect(keys.length, name).toBeGreaterThan(0);
      const unknown = keys.filter((k) => !(k in schema.shape) && !referenced.has(k));
      expect(unknown, `${name}: variables no schema reads`).toEqual([]);
      const result = schema.safeParse(environment(name));
      expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), name).toEqual(
        [],
      );
    },
  );

  it('mounts config/broker.yaml where BROKER_CONFIG points, and it parses', () => {
    for (const name of ['ingress', 'worker']) {
      expect(compose.services[name]?.volumes, name).toContain(
        `./config/broker.yaml:${environment(name).BROKER_CONFIG}:ro`,
      );
    }
    expect(mounted.callers.map((c) => c.id)).toEqual(['demo', 'ops']);
    expect(mounted.callers.find((c) => c.id === 'ops')?.admin).toBe(true);
  });

  it('points the configuration at services of this project: the MCP server, the dev OAuth issuer and its clients', () => {
    const oauth = devOAuthEnvSchema.parse(environment('dev-oauth'));
    const clients = new Map(oauth.DEV_OAUTH_CLIENTS.map((c) => [c.clientId, c]));
    for (const endpoint of Object.values(mounted.endpoints)) expect(serviceNames).toContain(hostOf(endpoint.url));
    expect(new URL(mounted.endpoints.local?.url ?? '').port).toBe(environment('mcp-server').PORT ?? '3001');
    expect(environment('mcp-server').OAUTH_ISSUERS).toBe(oauth.DEV_OAUTH_ISSUER);
    expect(environment('mcp-server').MCP_RESOURCE).toBe(oauth.DEV_OAUTH_AUDIENCE);
    for (const caller of mounted.callers) {
      const auth = caller.auth.type === 'jwt' ? caller.auth : undefined;
      expect(auth?.issuer, caller.id).toBe(oauth.DEV_OAUTH_ISSUER);
      expect(auth?.audience, caller.id).toBe(oauth.DEV_OAUTH_AUDIENCE);
      for (const subject of auth?.subjects ?? [])
        expect(clients.has(subject), `${caller.id}: client ${subject}`).toBe(true);
      const credential = caller.upstream.credential;
      expect(credential.type).toBe('client-credentials');
      if (credential.type !== 'client-credentials') continue;
      expect(credential.tokenUrl).toBe(`${oauth.DEV_OAUTH_ISSUER}/token`);
      // The broker's upstream identity may call every tool the server offers.
      expect(clients.get(credential.clientId)?.roles.sort()).toEqual([...serverToolPermissions].sort());
    }
  });

  it('names every secret the configuration references in .env.example, without a value, and reads them from .env', () => {
    const example = read('.env.example');
    expect(referenced.size).toBeGreaterThan(0);
    for (const name of referenced) expect(example, name).toMatch(new RegExp(`^${name}=$`, 'm'));
    for (const service of ['ingress', 'worker']) expect(compose.services[service]?.env_file, service).toBeTruthy();
  });
});

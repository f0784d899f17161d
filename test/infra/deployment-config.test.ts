import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

/** Every workspace directory named by the root package.json (`dir/*` globs expanded). */
function workspaceDirs(): string[] {
  const patterns = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
  return patterns
    .flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(new URL(`${pattern.slice(0, -2)}/`, root), { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
        : [pattern],
    )
    .filter((dir) => existsSync(new URL(`${dir}/package.json`, root)))
    .sort();
}

function manifestOf(dir: string): Manifest {
  return JSON.parse(read(`${dir}/package.json`)) as Manifest;
}

/** The workspace and every workspace it depends on at run time (dependencies, not devDependencies). */
function runtimeWorkspaces(start: string): string[] {
  const byName = new Map(workspaceDirs().map((dir) => [manifestOf(dir).name, dir]));
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(manifestOf(dir).dependencies ?? {})) {
      const depDir = byName.get(dep);
      if (depDir) visit(depDir);
    }
  };
  visit(start);
  return [...seen].sort();
}

describe('services/mcp-server/Dockerfile', () => {
  const dockerfile = read('services/mcp-server/Dockerfile');

  it('copies the package.json of every workspace before npm ci', () => {
    const npmCi = dockerfile.indexOf('npm ci --omit=dev');
    expect(npmCi).toBeGreaterThan(0);
    for (const dir of workspaceDirs()) {
      const copy = dockerfile.indexOf(`COPY ${dir}/package.json ${dir}/`);
      expect(copy, `COPY ${dir}/package.json`).toBeGreaterThan(0);
      expect(copy).toBeLessThan(npmCi);
    }
  });

  it('copies the sources of mcp-server and of every workspace it depends on', () => {
    const needed = runtimeWorkspaces('services/mcp-server');
    expect(needed).toContain('shared/auth');
    for (const dir of needed) expect(dockerfile, `${dir}/src`).toContain(`COPY ${dir}/src ${dir}/src`);
  });

  it('installs production dependencies of the mcp-server workspace only and runs main.ts as node', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev --workspace @mcp-broker\/mcp-server/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('CMD ["node", "services/mcp-server/src/main.ts"]');
    expect(existsSync(new URL('services/mcp-server/src/main.ts', root))).toBe(true);
  });

  it('listens where it says it does', () => {
    expect(dockerfile).toMatch(/ENV NODE_ENV=production HOST=0\.0\.0\.0 PORT=3001/);
    expect(dockerfile).toMatch(/^EXPOSE 3001$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });
});

describe('.env.example', () => {
  const example = read('.env.example');

  it('lists every variable the MCP server reads', () => {
    const keys = Object.keys(mcpServerConfigSchema.shape);
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) expect(example, key).toMatch(new RegExp(`^(# )?${key}=`, 'm'));
  });

  it('holds no value for a secret', () => {
    expect(example).toMatch(/^# COSMOS_KEY=$/m);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
    services: Record<
      string,
      { build?: { dockerfile: string }; image?: string; healthcheck?: unknown; environment?: Record<string, unknown> }
    >;
    volumes: Record<string, unknown>;
  };

  it('is valid YAML with the broker’s four services and the Redis volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['ingress', 'mcp-server', 'redis', 'worker']);
    expect(Object.keys(compose.volumes)).toEqual(['redis-data']);
  });

  it('builds each service from a Dockerfile that exists, and checks the health of each', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build)
        expect(existsSync(new URL(`../../${service.build.dockerfile}`, import.meta.url)), name).toBe(true);
      expect(
        service.healthcheck ??
          readFileSync(new URL(`../../${service.build?.dockerfile}`, import.meta.url), 'utf8').match(/HEALTHCHECK/),
        name,
      ).toBeTruthy();
    }
  });

  it('gives the worker a health port inside the network', () => {
    expect(compose.services.worker?.environment).toMatchObject({ HEALTH_PORT: '3003', HOST: '0.0.0.0' });
  });
});

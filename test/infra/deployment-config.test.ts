import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mcpServerConfigSchema } from '@mcp-broker/mcp-server';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stageService } from '../../infra/docker/stage-workspaces.ts';

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

const services = ['ingress', 'mcp-server', 'worker'] as const;
// biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's build-argument reference, as text.
const SERVICE_ARG = '${SERVICE}';
/** The variable each service reads its listening port from, and the port its image sets. */
const listening = {
  'mcp-server': { variable: 'PORT', port: 3001 },
  ingress: { variable: 'PORT', port: 3002 },
  worker: { variable: 'HEALTH_PORT', port: 3003 },
} as const;

/** The text of the Dockerfile stage `name`: from its FROM line to the next FROM. */
function stageOf(dockerfile: string, name: string): string {
  const match = new RegExp(`^FROM \\S+ AS ${name}$([\\s\\S]*?)(?=^FROM )`, 'm').exec(dockerfile);
  expect(match, `stage ${name}`).not.toBeNull();
  return match?.[1] ?? '';
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('is the only Dockerfile: the services have none of their own', () => {
    for (const service of services) expect(existsSync(new URL(`services/${service}/Dockerfile`, root))).toBe(false);
  });

  it('takes the service from the SERVICE build argument, without a default, and builds that stage', () => {
    expect(dockerfile.indexOf('\nARG SERVICE\n')).toBeLessThan(dockerfile.indexOf('\nFROM '));
    expect(dockerfile).not.toMatch(/^ARG SERVICE=/m);
    expect(dockerfile.trimEnd().split('\n').at(-1)).toBe(`FROM service-${SERVICE_ARG}`);
  });

  it('installs, from every workspace manifest, the production dependencies of the SERVICE workspace only', () => {
    const deps = stageOf(dockerfile, 'deps');
    const copy = deps.indexOf('COPY --from=stage /staged/manifests ./');
    const npmCi = deps.indexOf(`npm ci --omit=dev --workspace @mcp-broker/${SERVICE_ARG} --ignore-scripts`);
    expect(copy).toBeGreaterThan(0);
    expect(npmCi).toBeGreaterThan(copy);
    expect(stageOf(dockerfile, 'stage')).toContain(
      `RUN node infra/docker/stage-workspaces.ts "${SERVICE_ARG}" /staged`,
    );
  });

  it('runs as the unprivileged node user in production mode, with the staged sources only', () => {
    const runtime = stageOf(dockerfile, 'runtime');
    expect(runtime).toMatch(/^ENV NODE_ENV=production HOST=0\.0\.0\.0$/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toContain('COPY --from=stage /staged/sources ./');
    expect(runtime).not.toMatch(/^COPY (?!--from=)/m);
  });

  for (const service of services) {
    it(`${service}: listens where it says it does, checks its health and runs its main.ts as node`, () => {
      const stage = stageOf(dockerfile, `service-${service}`);
      const { variable, port } = listening[service];
      expect(stage).toMatch(new RegExp(`^ENV ${variable}=${port}$`, 'm'));
      expect(stage).toMatch(new RegExp(`^EXPOSE ${port}$`, 'm'));
      expect(stage).toMatch(
        new RegExp(`HEALTHCHECK[\\s\\S]*process\\.env\\.${variable} \\|\\| ${port}\\) \\+ '/healthz'`),
      );
      expect(stage).toContain(`CMD ["node", "services/${service}/src/main.ts"]`);
      expect(existsSync(new URL(`services/${service}/src/main.ts`, root))).toBe(true);
    });
  }
});

describe('infra/docker/stage-workspaces.ts (the Dockerfile step that picks what an image holds)', () => {
  const rootPath = fileURLToPath(root);

  for (const service of services) {
    it(`${service}: stages every workspace manifest and the sources of exactly its run-time workspaces, without tests`, () => {
      const out = mkdtempSync(join(tmpdir(), `stage-${service}-`));
      try {
        const staged = stageService(rootPath, service, out);
        const manifests = ['package.json', 'package-lock.json', ...workspaceDirs().map((dir) => `${dir}/package.json`)];
        expect([...staged.manifests].sort()).toEqual(manifests.sort());
        for (const file of manifests) expect(existsSync(join(out, 'manifests', file)), file).toBe(true);

        const needed = runtimeWorkspaces(`services/${service}`).map((dir) => `${dir}/src`);
        expect(staged.sources).toEqual(needed);
        const stagedDirs = ['shared', 'services'].flatMap((top) =>
          readdirSync(join(out, 'sources', top)).map((name) => `${top}/${name}/src`),
        );
        expect(stagedDirs.sort()).toEqual([...needed].sort());
        expect(existsSync(join(out, 'sources', `services/${service}/src/main.ts`))).toBe(true);

        const tests = filesUnder(join(out, 'sources')).filter((file) => /\.test\.ts$|\/test-support\//.test(file));
        expect(tests).toEqual([]);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }

  it('leaves out what a service does not depend on at run time: every peer, the demo and the tests', () => {
    expect(runtimeWorkspaces('services/mcp-server')).toContain('shared/auth');
    const peers = workspaceDirs().filter((dir) => dir.startsWith('peers/'));
    expect(peers).toEqual(expect.arrayContaining(['peers/dev-oauth', 'peers/salesforce-sandbox']));
    for (const service of services) {
      for (const devOnly of [...peers, 'services/dev', 'test']) {
        expect(runtimeWorkspaces(`services/${service}`), `${service} ships ${devOnly}`).not.toContain(devOnly);
      }
    }
  });

  it('refuses a service that depends at run time on a peer, naming the peer', () => {
    const fixture = mkdtempSync(join(tmpdir(), 'stage-peer-'));
    const write = (path: string, content: unknown) => {
      mkdirSync(join(fixture, path, '..'), { recursive: true });
      writeFileSync(join(fixture, path), typeof content === 'string' ? content : JSON.stringify(content));
    };
    try {
      write('package.json', { name: 'fixture', workspaces: ['services/*', 'peers/*'] });
      write('package-lock.json', {});
      write('services/api/package.json', { name: '@f/api', dependencies: { '@f/sandbox': '*' } });
      write('services/api/src/main.ts', '');
      write('peers/sandbox/package.json', { name: '@f/sandbox' });
      write('peers/sandbox/src/index.ts', '');
      expect(() => stageService(fixture, 'api', join(fixture, 'out'))).toThrow(
        'services/api depends at run time on peers/sandbox; peers never ship in an image',
      );
    } finally {
      rmSync(fixture, { recursive: true, force: true });
    }
  });

  it('refuses a SERVICE that is not a service, naming those there are', () => {
    const out = mkdtempSync(join(tmpdir(), 'stage-unknown-'));
    try {
      expect(() => stageService(rootPath, 'shared', out)).toThrow(
        /SERVICE="shared" is not a service; one of: .*mcp-server/,
      );
      expect(() => stageService(rootPath, '', out)).toThrow(/SERVICE="" is not a service/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('the embedded Cosmos-compatible server', () => {
  it('is installed for development only, so npm ci --omit=dev leaves it out of every image', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    expect(lock.packages['node_modules/@vercel/cosmosdb-server']?.dev).toBe(true);
    for (const service of services) {
      expect(runtimeWorkspaces(`services/${service}`)).toContain('shared/store');
      for (const dir of runtimeWorkspaces(`services/${service}`)) {
        expect(Object.keys(manifestOf(dir).dependencies ?? {}), dir).not.toContain('@vercel/cosmosdb-server');
      }
    }
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
      {
        build?: { context: string; dockerfile: string; args?: Record<string, string> };
        image?: string;
        healthcheck?: unknown;
        environment?: Record<string, unknown>;
      }
    >;
    volumes: Record<string, unknown>;
  };

  it('is valid YAML with the broker’s four services, the Cosmos emulator, the dev OAuth server and the Redis volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'cosmos',
      'dev-oauth',
      'ingress',
      'mcp-server',
      'redis',
      'worker',
    ]);
    expect(Object.keys(compose.volumes)).toEqual(['redis-data']);
  });

  it('builds each service from the one Dockerfile, naming it by SERVICE, and checks the health of each', () => {
    const dockerfile = read('Dockerfile');
    for (const [name, service] of Object.entries(compose.services)) {
      if (!services.includes(name as (typeof services)[number])) {
        expect(service.build, name).toBeUndefined();
        expect(service.image, name).toBeTruthy();
        if (name !== 'cosmos') expect(service.healthcheck, name).toBeTruthy();
        continue;
      }
      expect(service.build, name).toEqual({ context: '.', dockerfile: 'Dockerfile', args: { SERVICE: name } });
      expect(service.healthcheck ?? stageOf(dockerfile, `service-${name}`).match(/^HEALTHCHECK/m), name).toBeTruthy();
    }
  });

  it('uses the Cosmos emulator service unless COSMOS_ENDPOINT names an account, which the images need either way', () => {
    for (const name of services) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's interpolation, as text.
      expect(compose.services[name]?.environment?.COSMOS_ENDPOINT, name).toBe('${COSMOS_ENDPOINT:-http://cosmos:8081}');
    }
    expect(compose.services.cosmos?.image).toMatch(/^mcr\.microsoft\.com\/cosmosdb\/linux\/azure-cosmos-emulator:/);
  });

  it('gives the worker a health port inside the network', () => {
    expect(compose.services.worker?.environment).toMatchObject({ HEALTH_PORT: '3003', HOST: '0.0.0.0' });
  });
});

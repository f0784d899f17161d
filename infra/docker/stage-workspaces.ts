/**
 * The build step of the repository's Dockerfile that picks, from the whole build context, what one
 * service's image holds, so that the Dockerfile names no workspace and no list goes stale when a
 * workspace or a dependency between workspaces is added.
 *
 *   node infra/docker/stage-workspaces.ts <service> <out>
 *
 * - `<out>/manifests`: the root package.json and package-lock.json and every workspace's
 *   package.json (npm ci checks the lockfile against all of them). Its content changes only with a
 *   manifest, so the npm ci layer built on it stays cached across source changes.
 * - `<out>/sources`: `src/` of `services/<service>` and of every workspace it depends on at run time
 *   (`dependencies`, not `devDependencies`), test files left out. A service that depends at run
 *   time on a workspace under `peers/` is refused: peers are for tests and the demo.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Manifest {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
}

const readManifest = (path: string): Manifest => JSON.parse(readFileSync(path, 'utf8')) as Manifest;

/** Every workspace directory (relative to `root`) named by the root package.json, `dir/*` expanded. */
export function workspaceDirs(root: string): string[] {
  const patterns = readManifest(join(root, 'package.json')).workspaces ?? [];
  return patterns
    .flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
        : [pattern],
    )
    .filter((dir) => existsSync(join(root, dir, 'package.json')))
    .sort();
}

/** `start` and every workspace it reaches through `dependencies`, sorted. */
export function runtimeWorkspaces(root: string, start: string): string[] {
  const byName = new Map(workspaceDirs(root).map((dir) => [readManifest(join(root, dir, 'package.json')).name, dir]));
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(readManifest(join(root, dir, 'package.json')).dependencies ?? {})) {
      const depDir = byName.get(dep);
      if (depDir) visit(depDir);
    }
  };
  visit(start);
  return [...seen].sort();
}

/** What `stageService` laid out, as paths relative to `<out>/manifests` and `<out>/sources`. */
export interface StagedService {
  manifests: string[];
  sources: string[];
}

const isTestFile = (path: string) => /\.test\.ts$/.test(path) || /(^|\/)test-support(\/|$)/.test(path);

export function stageService(root: string, service: string, out: string): StagedService {
  const serviceDir = `services/${service}`;
  const workspaces = workspaceDirs(root);
  if (!workspaces.includes(serviceDir) || !existsSync(join(root, serviceDir, 'src/main.ts'))) {
    const services = workspaces.filter((dir) => existsSync(join(root, dir, 'src/main.ts')));
    throw new Error(`SERVICE="${service}" is not a service; one of: ${services.map((d) => d.slice(9)).join(', ')}`);
  }
  const manifests = ['package.json', 'package-lock.json', ...workspaces.map((dir) => `${dir}/package.json`)];
  for (const file of manifests) {
    mkdirSync(dirname(join(out, 'manifests', file)), { recursive: true });
    cpSync(join(root, file), join(out, 'manifests', file));
  }
  const runtime = runtimeWorkspaces(root, serviceDir);
  // Peers (sandboxes, the dev OAuth server) stand in for other systems in tests and the demo.
  const peers = runtime.filter((dir) => dir.startsWith('peers/'));
  if (peers.length > 0) {
    throw new Error(`${serviceDir} depends at run time on ${peers.join(', ')}; peers never ship in an image`);
  }
  const sources = runtime.map((dir) => `${dir}/src`);
  for (const dir of sources) {
    cpSync(join(root, dir), join(out, 'sources', dir), {
      recursive: true,
      filter: (path) => !isTestFile(path.slice(root.length)),
    });
  }
  return { manifests, sources };
}

if (import.meta.main) {
  const [service = '', out] = process.argv.slice(2);
  if (!out) throw new Error('usage: node infra/docker/stage-workspaces.ts <service> <out>');
  const staged = stageService(process.cwd(), service, out);
  console.log(`staged ${service}: ${staged.sources.join(' ')}`);
}

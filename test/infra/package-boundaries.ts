/**
 * Which way imports may point between product code, test code and peers (docs/architecture.md,
 * "Layout"). Product packages are `shared/*` and `services/*`; `peers/*` are stand-ins for the
 * systems around the broker (sandboxes, the dev OAuth server, a Redis process of a test's own),
 * used by tests and the demo (`services/dev`) only.
 *
 * - Product code (`src/` of a product package, test files left out) imports no peer and no
 *   test support (a `test-support/` folder or a `*test-support*` file, anyone's); the demo may
 *   import peers.
 * - A product package depends on a peer only in `devDependencies` (the demo excepted).
 * - No file of a shared package imports a service.
 * - No `*test-support*` file sits under a `src/` folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface WorkspaceManifest {
  /** Relative to the repository root, e.g. `shared/store`. */
  dir: string;
  name: string;
  dependencies?: Record<string, string>;
}

export interface SourceFile {
  /** Relative to the repository root, with `/` separators. */
  path: string;
  text: string;
}

export interface Tree {
  workspaces: WorkspaceManifest[];
  files: SourceFile[];
}

/** The demo launcher: product-shaped, but allowed to run peers (docs/architecture.md). */
const DEMO = 'services/dev';

const isTestFile = (path: string) => /\.test\.ts$/.test(path);
const isTestSupport = (path: string) => path.includes('test-support');
const topOf = (dir: string) => dir.split('/')[0];
const isProduct = (dir: string) => topOf(dir) === 'shared' || topOf(dir) === 'services';

/** Every module specifier a TypeScript file imports or re-exports (static and dynamic). */
export function importsOf(text: string): string[] {
  const pattern =
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...text.matchAll(pattern)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** The workspace a file lives in (the longest matching directory). */
function workspaceOf(tree: Tree, path: string): WorkspaceManifest | undefined {
  return tree.workspaces.filter((ws) => path.startsWith(`${ws.dir}/`)).sort((a, b) => b.dir.length - a.dir.length)[0];
}

interface Target {
  /** The workspace imported, when the import reaches one. */
  workspace?: WorkspaceManifest;
  /** Path inside the repository (relative imports) or the package subpath (bare imports). */
  path: string;
}

function resolveImport(tree: Tree, from: string, specifier: string): Target | undefined {
  if (specifier.startsWith('.')) {
    const path = posix.normalize(posix.join(posix.dirname(from), specifier));
    return { workspace: workspaceOf(tree, path), path };
  }
  const workspace = tree.workspaces
    .filter((ws) => specifier === ws.name || specifier.startsWith(`${ws.name}/`))
    .sort((a, b) => b.name.length - a.name.length)[0];
  return workspace ? { workspace, path: `${workspace.dir}${specifier.slice(workspace.name.length)}` } : undefined;
}

/** Every broken boundary in `tree`, one sentence each, sorted; empty when the layout holds. */
export function boundaryViolations(tree: Tree): string[] {
  const found = new Set<string>();
  for (const file of tree.files) {
    const owner = workspaceOf(tree, file.path);
    if (!owner) continue;
    const inSrc = file.path.startsWith(`${owner.dir}/src/`);
    if (inSrc && isTestSupport(file.path.slice(owner.dir.length))) {
      found.add(`${file.path}: test support sits under src/ (move it to ${owner.dir}/test-support/)`);
    }
    const productCode = isProduct(owner.dir) && inSrc && !isTestFile(file.path) && !isTestSupport(file.path);
    for (const specifier of importsOf(file.text)) {
      const target = resolveImport(tree, file.path, specifier);
      if (!target) continue;
      const targetDir = target.workspace?.dir;
      if (productCode && owner.dir !== DEMO && targetDir && topOf(targetDir) === 'peers') {
        found.add(`${file.path}: product code imports the peer ${targetDir} ('${specifier}')`);
      }
      if (productCode && isTestSupport(target.path.slice((targetDir ?? '').length))) {
        found.add(`${file.path}: product code imports test support ('${specifier}')`);
      }
      if (topOf(owner.dir) === 'shared' && targetDir && topOf(targetDir) === 'services') {
        found.add(`${file.path}: the shared package ${owner.dir} imports the service ${targetDir} ('${specifier}')`);
      }
    }
  }
  const peerNames = new Map(tree.workspaces.filter((ws) => topOf(ws.dir) === 'peers').map((ws) => [ws.name, ws.dir]));
  for (const ws of tree.workspaces) {
    if (!isProduct(ws.dir) || ws.dir === DEMO) continue;
    for (const dep of Object.keys(ws.dependencies ?? {})) {
      const peer = peerNames.get(dep);
      if (peer) found.add(`${ws.dir}/package.json: depends at run time on the peer ${peer} (devDependencies only)`);
    }
  }
  return [...found].sort();
}

function filesUnder(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(root, path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The repository's workspaces (root package.json globs expanded) and their TypeScript files. */
export function readTree(root: string): Tree {
  const read = (path: string) => readFileSync(join(root, path), 'utf8');
  const patterns = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
  const subdirs = (dir: string) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => `${dir}/${entry.name}`)
      : [];
  const dirs = patterns.flatMap((pattern) => (pattern.endsWith('/*') ? subdirs(pattern.slice(0, -2)) : [pattern]));
  const workspaces = dirs.flatMap((dir): WorkspaceManifest[] => {
    try {
      const manifest = JSON.parse(read(`${dir}/package.json`)) as Omit<WorkspaceManifest, 'dir'>;
      return [{ dir, name: manifest.name, dependencies: manifest.dependencies ?? {} }];
    } catch {
      return [];
    }
  });
  const files = workspaces.flatMap((ws) => filesUnder(root, ws.dir)).map((path) => ({ path, text: read(path) }));
  return { workspaces, files };
}

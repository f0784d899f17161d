import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Test tiers are true to their names: `*.test.ts` is pure (no Redis, no Cosmos, no servers, no
 * child processes), `*.int.test.ts` runs against real peers, `*.e2e.test.ts` against the whole
 * stack. A pure test that starts a peer is found by what it (or the test support it imports)
 * imports and calls; turbo and every package's scripts give each tier its own task, and `npm test`
 * still runs them all.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIP_DIRS = new Set(['node_modules', '.git', '.turbo', '.tools', '.scratch', 'dist', 'coverage']);

/**
 * Pure tests that import something the heuristic counts as a peer but start nothing. Every entry
 * says why; a stale entry (a file that no longer exists or no longer trips the check) fails too.
 */
const EXCEPTIONS: Record<string, string> = {
  'test/infra/salesforce-package.test.ts':
    'imports DEFAULT_SOBJECTS, the Salesforce sandbox’s object declarations (plain data), to compare them ' +
    'with the package’s metadata; it starts no sandbox',
  'shared/salesforce/src/outcome-mapping.test.ts':
    'imports toolCallRecord (a plain record builder) from test-support/salesforce.ts, which also offers ' +
    'startSandboxOrg and so imports the sandbox; the test starts no org',
};

interface Finding {
  /** Repository-relative path of the file that does it (the test or a support file it imports). */
  file: string;
  reason: string;
}

/** A module a pure test must not import (values, not types), and why. */
const PEER_MODULES: [RegExp, string][] = [
  [/^@vercel\/cosmosdb-server$/, 'imports the embedded Cosmos server'],
  [/^(ioredis|bullmq)(\/|$)/, 'imports a Redis client (ioredis/bullmq)'],
  [/^(node:)?child_process$/, 'spawns processes (child_process)'],
  [/^(node:)?(net|http|https|http2|dgram|tls)$/, 'opens sockets (node:net/http/https/http2/dgram/tls)'],
  [/^(node:)?worker_threads$/, 'starts worker threads'],
];
/** Factories that start a store (and with it the embedded Cosmos server) or a peer process. */
const PEER_FACTORIES: [RegExp, RegExp, string][] = [
  [/^@mcp-broker\/store$/, /^(createStore|startEmbeddedCosmos)$/, 'imports the store factory'],
];
/** Calls that only a test with a real peer makes. */
const PEER_CALLS: [string, string][] = [
  ['listen', 'listens on a socket (.listen())'],
  ['createServer', 'creates a server (createServer())'],
];

/** Package names of the test and dev peers (the workspaces under peers/). */
function peerPackages(root: string): Set<string> {
  const dir = join(root, 'peers');
  if (!existsSync(dir)) return new Set();
  return new Set(
    readdirSync(dir)
      .map((name) => join(dir, name, 'package.json'))
      .filter((file) => existsSync(file))
      .map((file) => (JSON.parse(readFileSync(file, 'utf8')) as { name: string }).name),
  );
}

interface ImportRef {
  specifier: string;
  /** Value bindings imported ('*' for a namespace, dynamic or require import; empty for a side effect). */
  names: string[];
  /** Only types: erased at run time, so it starts nothing. */
  typeOnly: boolean;
}

interface ModuleFacts {
  imports: ImportRef[];
  /** Names of the functions and methods the module calls (`app.listen()` gives `listen`). */
  calls: Set<string>;
}

/**
 * The imports (static, re-export, side-effect, dynamic, require) and calls of a module, read from
 * its syntax tree, so comments and strings (a fixture holding an import line) do not count.
 */
export function moduleFacts(file: string, text: string): ModuleFacts {
  const tree = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const imports: ImportRef[] = [];
  const calls = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const names = [
        ...(clause?.name ? ['default'] : []),
        ...(named && ts.isNamespaceImport(named) ? ['*'] : []),
        ...(named && ts.isNamedImports(named)
          ? named.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text)
          : []),
      ];
      const typeOnly = clause !== undefined && (clause.isTypeOnly || names.length === 0);
      imports.push({ specifier: node.moduleSpecifier.text, names, typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const names =
        clause && ts.isNamedExports(clause)
          ? clause.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text)
          : ['*'];
      imports.push({ specifier: node.moduleSpecifier.text, names, typeOnly: node.isTypeOnly || names.length === 0 });
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isImport || isRequire) && first && ts.isStringLiteralLike(first)) {
        imports.push({ specifier: first.text, names: ['*'], typeOnly: false });
      }
      if (ts.isIdentifier(node.expression)) calls.add(node.expression.text);
      if (ts.isPropertyAccessExpression(node.expression)) calls.add(node.expression.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(tree);
  return { imports, calls };
}

/** Test support: files outside a package's product code that tests import for their setup. */
function isTestSupport(file: string): boolean {
  const parts = file.split(sep).join('/');
  return /(^|\/)(test-support|support|integration)\//.test(parts) || /\.test-support\.ts$/.test(parts);
}

export interface Source {
  read(file: string): string | undefined;
  peers: Set<string>;
}

/**
 * What makes a file a test with real peers: its own imports and calls, and those of the test
 * support it imports by relative path (followed transitively; product code is not followed, since
 * importing a module that can talk to Redis is not talking to Redis).
 */
export function peerFindings(file: string, source: Source, seen = new Set<string>()): Finding[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const text = source.read(file);
  if (text === undefined) return [];
  const findings: Finding[] = [];
  const facts = moduleFacts(file, text);
  for (const ref of facts.imports) {
    if (ref.typeOnly) continue;
    for (const [pattern, reason] of PEER_MODULES) {
      if (pattern.test(ref.specifier)) findings.push({ file, reason: `${reason}: '${ref.specifier}'` });
    }
    for (const [pattern, names, reason] of PEER_FACTORIES) {
      const used = ref.names.filter((n) => n === '*' || names.test(n));
      if (pattern.test(ref.specifier) && used.length > 0) {
        findings.push({ file, reason: `${reason}: ${used.join(', ')} from '${ref.specifier}'` });
      }
    }
    const packageName = ref.specifier.split('/').slice(0, 2).join('/');
    if (source.peers.has(packageName)) findings.push({ file, reason: `imports a test peer: '${ref.specifier}'` });
    if (ref.specifier.startsWith('.')) {
      const target = join(dirname(file), ref.specifier);
      if (/(^|\/)peers\//.test(target.split(sep).join('/'))) {
        findings.push({ file, reason: `imports a test peer by path: '${ref.specifier}'` });
      } else if (isTestSupport(target)) {
        findings.push(...peerFindings(target, source, seen));
      }
    }
  }
  for (const [name, reason] of PEER_CALLS) if (facts.calls.has(name)) findings.push({ file, reason });
  return findings;
}

/** Every file below `root` (repository-relative), skipping installs and build output. */
function walk(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : walk(root, join(dir, entry.name));
    return entry.isFile() ? [relative(root, join(dir, entry.name))] : [];
  });
}

const isPure = (file: string) => file.endsWith('.test.ts') && !/\.(int|e2e)\.test\.ts$/.test(file);
const repository: Source = {
  read: (file) => (existsSync(join(ROOT, file)) ? readFileSync(join(ROOT, file), 'utf8') : undefined),
  peers: peerPackages(ROOT),
};
const files = walk(ROOT);

describe('test tiers: pure tests start no peer', () => {
  it('finds the pure tests of the repository (the scan is not looking at an empty tree)', () => {
    expect(files.filter(isPure).length).toBeGreaterThan(20);
    expect(files.filter((f) => f.endsWith('.int.test.ts')).length).toBeGreaterThan(20);
  });

  it('no *.test.ts (not .int/.e2e) file starts Redis, Cosmos, a server, a process or a peer', () => {
    const offenders = files
      .filter(isPure)
      .filter((file) => !(file in EXCEPTIONS))
      .flatMap((file) =>
        peerFindings(file, repository).map((f) => `${file}: ${f.file === file ? '' : `${f.file} `}${f.reason}`),
      );
    expect(offenders, 'rename these *.int.test.ts (or make them pure)').toEqual([]);
  });

  it('every exception exists and still needs its exception', () => {
    for (const [file, why] of Object.entries(EXCEPTIONS)) {
      expect(why.length, file).toBeGreaterThan(20);
      expect(existsSync(join(ROOT, file)), `${file} no longer exists`).toBe(true);
      expect(peerFindings(file, repository), `${file} no longer trips the check`).not.toEqual([]);
    }
  });

  describe('the heuristic, on fixtures', () => {
    const fixture = (tree: Record<string, string>): Source => ({
      read: (f) => tree[f],
      peers: new Set(['@x/sandbox']),
    });
    const reasons = (file: string, tree: Record<string, string>) =>
      peerFindings(file, fixture(tree)).map((f) => f.reason);

    it('flags each kind of peer a pure test might start', () => {
      const bad = [
        "import { Redis } from 'ioredis';",
        "import { Queue } from 'bullmq';",
        "import { createStore, type Store } from '@mcp-broker/store';",
        "import { spawn } from 'node:child_process';",
        "import { createServer } from 'node:http';",
        "const { CosmosServer } = await import('@vercel/cosmosdb-server');",
        "import { startSandbox } from '@x/sandbox';",
        "import { thing } from '../../peers/salesforce-sandbox/src/index.ts';",
        'await app.listen({ port: 0 });',
      ];
      for (const line of bad) expect(reasons('a/bad.test.ts', { 'a/bad.test.ts': line }), line).not.toEqual([]);
    });

    it('follows test support imported by relative path, transitively', () => {
      const tree = {
        'svc/src/thing.test.ts': "import { harness } from '../test-support/harness.ts';",
        'svc/test-support/harness.ts': "export { startStack } from './stack.ts';",
        'svc/test-support/stack.ts': "import { Redis } from 'ioredis';\nexport const startStack = () => new Redis();",
      };
      expect(peerFindings('svc/src/thing.test.ts', fixture(tree))).toEqual([
        { file: 'svc/test-support/stack.ts', reason: "imports a Redis client (ioredis/bullmq): 'ioredis'" },
      ]);
    });

    it('leaves types, comments, product code and in-process requests alone', () => {
      const good = [
        "import type { Redis } from 'ioredis';",
        "import { type Store, type ContainerName } from '@mcp-broker/store';",
        "import { containerNames } from '@mcp-broker/store';",
        "// a comment about ioredis and createStore, and `import { Redis } from 'ioredis'`",
        '/** Starts nothing: app.listen() is for int tests. */',
        "import { isDependencyUnavailable } from './dependency-unavailable.ts';",
        "const response = await app.inject({ method: 'POST', url: '/tool-calls' });",
        // A fixture of another check: an import line held in a string imports nothing.
        "const fixture = { 'src/a.ts': \"import { Redis } from 'ioredis'; await import('bullmq');\" };",
      ];
      const tree: Record<string, string> = {
        'a/good.test.ts': good.join('\n'),
        // Product code that uses Redis is not followed: importing it starts nothing.
        'a/dependency-unavailable.ts': "import { Redis } from 'ioredis';",
      };
      expect(reasons('a/good.test.ts', tree)).toEqual([]);
    });
  });
});

interface PackageJson {
  name?: string;
  workspaces?: string[];
  scripts?: Record<string, string>;
}
const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T;

describe('test tiers: each tier has its own task, and npm test runs them all', () => {
  const root = readJson<PackageJson>('package.json');
  const turbo = readJson<{ tasks: Record<string, { dependsOn?: string[] }> }>('turbo.json');
  const workspaces = (root.workspaces ?? []).flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(ROOT, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory() && existsSync(join(ROOT, pattern.slice(0, -2), e.name, 'package.json')))
          .map((e) => `${pattern.slice(0, -2)}/${e.name}`)
      : [pattern],
  );
  const testsOf = (workspace: string) => files.filter((f) => f.startsWith(`${workspace}/`) && f.endsWith('.test.ts'));

  it('turbo has the tasks test, test:unit, test:int and test:e2e', () => {
    for (const task of ['test', 'test:unit', 'test:int', 'test:e2e']) expect(turbo.tasks, task).toHaveProperty([task]);
  });

  it('npm test runs every tier: turbo run test over packages whose test script runs every file', () => {
    expect(root.scripts?.test).toMatch(/^turbo run test(\s|$)/);
    expect(workspaces.length).toBeGreaterThan(10);
    for (const workspace of workspaces) {
      if (testsOf(workspace).length === 0) continue;
      const test = readJson<PackageJson>(`${workspace}/package.json`).scripts?.test ?? '';
      expect(test, `${workspace}: "test" must be vitest run`).toMatch(/^vitest run\b/);
      // No file filter or exclusion, so all three tiers run under `npm test`.
      expect(test, `${workspace}: "test" must not filter files`).not.toMatch(
        /--exclude|\s(?!-)[^\s]*\.test\.ts|\s(?!-)\S+\/(\s|$)/,
      );
    }
  });

  it('every package with tests of a tier has that tier’s script, selecting only that tier', () => {
    for (const workspace of workspaces) {
      const tests = testsOf(workspace);
      const scripts = readJson<PackageJson>(`${workspace}/package.json`).scripts ?? {};
      if (tests.some(isPure)) {
        expect(scripts['test:unit'] ?? 'missing', `${workspace}: test:unit`).toMatch(
          /^vitest run\b.*--exclude\s+"?\*\*\/\*\.int\.test\.ts/,
        );
        if (tests.some((f) => f.endsWith('.e2e.test.ts'))) {
          expect(scripts['test:unit'] ?? 'missing', `${workspace}: test:unit leaves e2e out`).toMatch(
            /--exclude\s+"?\*\*\/\*\.e2e\.test\.ts/,
          );
        }
      }
      if (tests.some((f) => f.endsWith('.int.test.ts'))) {
        expect(scripts['test:int'] ?? 'missing', `${workspace}: test:int`).toMatch(
          /^vitest run\b.*\s\.int\.test\.ts(\s|$)/,
        );
      }
      if (tests.some((f) => f.endsWith('.e2e.test.ts'))) {
        expect(scripts['test:e2e'] ?? 'missing', `${workspace}: test:e2e`).toMatch(
          /^vitest run\b.*(\se2e\/|\.e2e\.test\.ts)/,
        );
        expect(scripts['test:e2e'] ?? 'missing', `${workspace}: test:e2e runs only e2e tests`).not.toMatch(/\sinfra\//);
      }
    }
  });
});

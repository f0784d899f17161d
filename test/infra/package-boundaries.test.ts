import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { boundaryViolations, importsOf, readTree, type Tree } from './package-boundaries.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

const workspaces: Tree['workspaces'] = [
  { dir: 'shared/mcp-client', name: '@mcp-broker/mcp-client', dependencies: {} },
  { dir: 'shared/salesforce', name: '@mcp-broker/salesforce', dependencies: {} },
  { dir: 'shared/salesforce-events', name: '@mcp-broker/salesforce-events', dependencies: {} },
  { dir: 'services/mcp-server', name: '@mcp-broker/mcp-server', dependencies: {} },
  { dir: 'services/ingress', name: '@mcp-broker/ingress', dependencies: {} },
  { dir: 'services/dev', name: '@mcp-broker/dev', dependencies: { '@mcp-broker/dev-oauth': '*' } },
  { dir: 'peers/dev-oauth', name: '@mcp-broker/dev-oauth', dependencies: {} },
  { dir: 'test', name: '@mcp-broker/test', dependencies: {} },
];
const tree = (files: Record<string, string>, extra: Tree['workspaces'] = []): Tree => ({
  workspaces: [...workspaces, ...extra],
  files: Object.entries(files).map(([path, text]) => ({ path, text })),
});

describe('package boundaries of this repository', () => {
  it('hold: no product code imports a peer or test support, no shared package a service, no test support in src/', () => {
    const current = readTree(root);
    expect(current.workspaces.map((ws) => ws.dir)).toEqual(
      expect.arrayContaining(['peers/dev-oauth', 'peers/salesforce-sandbox', 'peers/redis-process']),
    );
    expect(current.files.length).toBeGreaterThan(100);
    expect(boundaryViolations(current)).toEqual([]);
  });
});

describe('boundaryViolations', () => {
  it('names every breach of the layout before issue 15 (tests reaching into a service, test support in src/)', () => {
    const old = tree({
      'shared/mcp-client/src/call-tool.int.test.ts': [
        'import {',
        '  type Harness,',
        '  startHarness,',
        "} from '../../../services/mcp-server/test-support/mcp-test-harness.ts';",
        "import { callTool } from './call-tool.ts';",
      ].join('\n'),
      'shared/mcp-client/test-support/client-test-tools.ts':
        "import { defineTool } from '../../../services/mcp-server/src/tools/tool-definition.ts';",
      'shared/salesforce/src/test-support.ts': "import { OrgConnections } from './org-connections.ts';",
      'shared/salesforce/src/outcome-mapping.test.ts': "import { toolCallRecord } from './test-support.ts';",
      'shared/salesforce-events/src/salesforce-events.test-support.ts': "import type { X } from './platform-event.ts';",
    });
    expect(boundaryViolations(old)).toEqual([
      "shared/mcp-client/src/call-tool.int.test.ts: the shared package shared/mcp-client imports the service services/mcp-server ('../../../services/mcp-server/test-support/mcp-test-harness.ts')",
      "shared/mcp-client/test-support/client-test-tools.ts: the shared package shared/mcp-client imports the service services/mcp-server ('../../../services/mcp-server/src/tools/tool-definition.ts')",
      'shared/salesforce-events/src/salesforce-events.test-support.ts: test support sits under src/ (move it to shared/salesforce-events/test-support/)',
      'shared/salesforce/src/test-support.ts: test support sits under src/ (move it to shared/salesforce/test-support/)',
    ]);
  });

  it('refuses product code importing a peer, by package name or by relative path', () => {
    const found = boundaryViolations(
      tree({
        'services/ingress/src/start.ts': "import { startDevOAuthServer } from '@mcp-broker/dev-oauth';",
        'shared/salesforce/src/org-connection.ts': "export { x } from '../../../peers/dev-oauth/src/index.ts';",
      }),
    );
    expect(found).toEqual([
      "services/ingress/src/start.ts: product code imports the peer peers/dev-oauth ('@mcp-broker/dev-oauth')",
      "shared/salesforce/src/org-connection.ts: product code imports the peer peers/dev-oauth ('../../../peers/dev-oauth/src/index.ts')",
    ]);
  });

  it("refuses product code importing test support: its own, another package's, through an export", () => {
    const found = boundaryViolations(
      tree({
        'services/ingress/src/app.ts': "import { basic } from '../test-support/ingress-under-test.ts';",
        'shared/salesforce/src/index.ts': "const m = await import('@mcp-broker/mcp-client/test-support/pool-for.ts');",
      }),
    );
    expect(found).toEqual([
      "services/ingress/src/app.ts: product code imports test support ('../test-support/ingress-under-test.ts')",
      "shared/salesforce/src/index.ts: product code imports test support ('@mcp-broker/mcp-client/test-support/pool-for.ts')",
    ]);
  });

  it('refuses a shared package importing a service by package name, from any of its files', () => {
    const found = boundaryViolations(
      tree({ 'shared/mcp-client/src/tool-catalog.ts': "import type { McpServer } from '@mcp-broker/mcp-server';" }),
    );
    expect(found).toEqual([
      "shared/mcp-client/src/tool-catalog.ts: the shared package shared/mcp-client imports the service services/mcp-server ('@mcp-broker/mcp-server')",
    ]);
  });

  it('refuses a product package depending on a peer at run time, not in devDependencies', () => {
    const found = boundaryViolations(
      tree({}, [{ dir: 'shared/store', name: '@mcp-broker/store', dependencies: { '@mcp-broker/dev-oauth': '*' } }]),
    );
    expect(found).toEqual([
      'shared/store/package.json: depends at run time on the peer peers/dev-oauth (devDependencies only)',
    ]);
  });

  it('allows what tests and the demo need: peers and test support in test files, the demo running peers, tests importing services', () => {
    const found = boundaryViolations(
      tree({
        'shared/salesforce/src/org-connection.int.test.ts': [
          "import { startDevOAuthServer } from '@mcp-broker/dev-oauth';",
          "import { ORG } from '../test-support/salesforce.ts';",
        ].join('\n'),
        'shared/salesforce/test-support/salesforce.ts': "import { startDevOAuthServer } from '@mcp-broker/dev-oauth';",
        'services/dev/src/start-dev.ts': "import { startDevOAuthServer } from '@mcp-broker/dev-oauth';",
        'services/ingress/src/redis-outage.int.test.ts':
          "import { basic } from '../test-support/ingress-under-test.ts';",
        'test/integration/mcp-client/call-tool.int.test.ts':
          "import { startHarness } from '../../../services/mcp-server/test-support/mcp-test-harness.ts';",
        'peers/dev-oauth/src/index.ts': "import { createTokenVerifier } from '@mcp-broker/mcp-server';",
      }),
    );
    expect(found).toEqual([]);
  });
});

describe('importsOf', () => {
  it('finds static, multi-line, type-only, side-effect, re-export and dynamic imports', () => {
    const text = [
      "import { a } from './a.ts';",
      'import {',
      '  type B,',
      '  c,',
      "} from '@scope/b';",
      "import type { D } from 'd';",
      "import './side-effect.ts';",
      "export { e } from './e.ts';",
      "export * from './f.ts';",
      "const g = await import('./g.ts');",
      "const text = 'not an import from here';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.ts', '@scope/b', 'd', './side-effect.ts', './e.ts', './f.ts', './g.ts']);
  });
});

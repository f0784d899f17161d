import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { CosmosDocumentStorage } from '../documents/cosmos-document-storage.ts';
import { DocumentLinkSigner } from '../documents/signed-link.ts';
import { buildGenerateContractTool } from './generate-contract.ts';
import { productTools } from './index.ts';
import { ToolRegistry } from './tool-registry.ts';

/**
 * The drift guard for `tools/list`: clients that generate types from `inputSchema`/`outputSchema`
 * (and the MCP Inspector's portability check) refuse type arrays (`"type": ["string", "null"]`) and
 * nodes that name no type. Every node must carry one `type` string, or be a `$ref`, or an
 * `anyOf`/`oneOf`/`allOf` whose branches do.
 */
function problems(schema: unknown, path: string, out: string[] = []): string[] {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    out.push(`${path}: not a schema object`);
    return out;
  }
  const node = schema as Record<string, unknown>;
  const composed = (['anyOf', 'oneOf', 'allOf'] as const).filter((k) => Array.isArray(node[k]));
  if (Array.isArray(node.type)) out.push(`${path}: type array ${JSON.stringify(node.type)}`);
  else if (typeof node.type !== 'string' && typeof node.$ref !== 'string' && composed.length === 0) {
    out.push(`${path}: untyped node ${JSON.stringify(node).slice(0, 80)}`);
  }
  if ('not' in node) out.push(`${path}: "not" is not portable`);
  for (const k of composed) {
    for (const [i, branch] of (node[k] as unknown[]).entries()) problems(branch, `${path}.${k}[${i}]`, out);
  }
  for (const k of ['properties', 'patternProperties', '$defs', 'definitions'] as const) {
    const children = node[k];
    if (children && typeof children === 'object') {
      for (const [name, child] of Object.entries(children)) problems(child, `${path}.${k}.${name}`, out);
    }
  }
  for (const k of ['items', 'additionalProperties', 'propertyNames', 'contains'] as const) {
    if (node[k] !== undefined && typeof node[k] !== 'boolean') problems(node[k], `${path}.${k}`, out);
  }
  if (Array.isArray(node.prefixItems)) {
    for (const [i, item] of node.prefixItems.entries()) problems(item, `${path}.prefixItems[${i}]`, out);
  }
  return out;
}

const generateContract = buildGenerateContractTool({
  storage: new CosmosDocumentStorage({} as Store),
  signer: new DocumentLinkSigner({ secret: 'portable-schemas-test-secret-0123456789', baseUrl: 'https://x.test' }),
  linkTtlSeconds: 600,
});
const registry = new ToolRegistry([...productTools, generateContract]);

describe('every tool schema in tools/list is portable', () => {
  it.each(registry.all().map((t) => [t.name]))('%s: no type arrays, every node typed', (name) => {
    const description = registry.describe(registry.get(name)!);
    expect([...problems(description.inputSchema, 'input'), ...problems(description.outputSchema!, 'output')]).toEqual(
      [],
    );
  });

  it('the guard itself catches type arrays and untyped nodes', () => {
    expect(problems({ type: 'object', properties: { a: { type: ['string', 'null'] }, b: {} } }, 's')).toEqual([
      's.properties.a: type array ["string","null"]',
      's.properties.b: untyped node {}',
    ]);
  });
});

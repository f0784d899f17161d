/**
 * Rewrites a generated JSON Schema into the subset every client's type generator reads: zod emits
 * `"type": ["string", "null"]` for nullable and primitive-union schemas, which the MCP Inspector's
 * portability check flags and several code generators refuse. Each such node becomes an `anyOf`
 * with one single-typed branch per type, carrying the keywords that apply to that type, so the
 * schema accepts exactly the same values.
 */
export function portableJsonSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return rewrite(schema) as Record<string, unknown>;
}

const keywordsOf: Record<string, readonly string[]> = {
  string: ['minLength', 'maxLength', 'pattern', 'format', 'contentEncoding', 'contentMediaType'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  array: ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains', 'minContains', 'maxContains'],
  object: [
    'properties',
    'required',
    'additionalProperties',
    'patternProperties',
    'propertyNames',
    'minProperties',
    'maxProperties',
  ],
};
const typeSpecific = new Set(Object.values(keywordsOf).flat());

// Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
const oneSchema = ['items', 'additionalProperties', 'propertyNames', 'contains', 'not', 'if', 'then', 'else'];
const schemaLists = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const schemaMaps = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];

function rewrite(node: unknown): unknown {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  const out: Record<string, unknown> = { ...(node as Record<string, unknown>) };
  for (const key of oneSchema) if (key in out) out[key] = rewrite(out[key]);
  for (const key of schemaLists) if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map(rewrite);
  for (const key of schemaMaps) {
    const map = out[key];
    if (map && typeof map === 'object') {
      out[key] = Object.fromEntries(Object.entries(map).map(([name, child]) => [name, rewrite(child)]));
    }
  }
  dropImpossibleProperties(out);
  return Array.isArray(out.type) ? splitTypes(out, out.type as string[]) : out;
}

/**
 * zod renders a property that may never be present (`z.never().optional()`, used to give a depth
 * limit its own message) as `{ "not": {} }`, an untyped node. On an object that allows no other
 * properties, leaving the property out means the same, so it is left out.
 */
function dropImpossibleProperties(node: Record<string, unknown>): void {
  const properties = node.properties as Record<string, unknown> | undefined;
  if (!properties || typeof properties !== 'object' || node.additionalProperties !== false) return;
  const impossible = Object.keys(properties).filter((name) => isNever(properties[name]));
  if (impossible.length === 0) return;
  node.properties = Object.fromEntries(Object.entries(properties).filter(([name]) => !impossible.includes(name)));
  if (Array.isArray(node.required)) node.required = node.required.filter((name) => !impossible.includes(name));
}

function isNever(schema: unknown): boolean {
  if (schema === false) return true;
  if (schema === null || typeof schema !== 'object') return false;
  const keys = Object.keys(schema);
  const not = (schema as { not?: unknown }).not;
  return keys.length === 1 && not !== null && typeof not === 'object' && Object.keys(not).length === 0;
}

function splitTypes(node: Record<string, unknown>, types: readonly string[]): Record<string, unknown> {
  const shared: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'type' && key !== 'enum' && key !== 'const' && !typeSpecific.has(key)) shared[key] = value;
  }
  const branches = types.map((type) => {
    const branch: Record<string, unknown> = { type };
    for (const key of keywordsOf[type] ?? []) if (key in node) branch[key] = node[key];
    if (Array.isArray(node.enum)) branch.enum = node.enum.filter((value) => hasType(value, type));
    if ('const' in node && hasType(node.const, type)) branch.const = node.const;
    return branch;
  });
  const anyOf = branches.filter((b) => !Array.isArray(b.enum) || (b.enum as unknown[]).length > 0);
  if (Array.isArray(shared.anyOf)) {
    const { anyOf: existing, ...rest } = shared;
    return { ...rest, allOf: [{ anyOf: existing }, { anyOf }] };
  }
  return { ...shared, anyOf };
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}

import {
  accountTiers,
  casePriorities,
  caseStatuses,
  opportunityStages,
  regions,
  segments,
} from '@mcp-broker/sample-data';
import { containerDefinitions } from '@mcp-broker/store';
import { z } from 'zod';

/**
 * The structured filter language of `query_data` and its compiler to parameterised Cosmos SQL.
 *
 * Safety rests on two rules: field names come only from the per-container allowlist below (plain
 * identifiers, so they can be written into the SQL text), and every value is bound as a parameter
 * (`@p0`, `@p1`, …), never written into the text. Nothing a caller sends is concatenated into SQL.
 */

/** How a field's values are validated and which operators apply to it. */
export type FieldKind = 'string' | 'enum' | 'number' | 'timestamp' | 'date' | 'array';

export interface FieldSpec {
  kind: FieldKind;
  /** The allowed values of an `enum` field. */
  values?: readonly string[];
}

const text: FieldSpec = { kind: 'string' };
const number: FieldSpec = { kind: 'number' };
const timestamp: FieldSpec = { kind: 'timestamp' };
const oneOf = (values: readonly string[]): FieldSpec => ({ kind: 'enum', values });

/**
 * The containers `query_data` may read and, per container, the fields a query may filter on, sort
 * by and return. `array` fields can be returned but not filtered or sorted on. Audit, memories and
 * documents are deliberately absent: they hold other callers' data.
 */
export const queryableContainers = {
  customers: {
    id: text,
    name: text,
    segment: oneOf(segments),
    region: oneOf(regions),
    industry: text,
    createdAt: timestamp,
    email: text,
  },
  accounts: {
    id: text,
    customerId: text,
    name: text,
    tier: oneOf(accountTiers),
    annualRevenue: number,
    createdAt: timestamp,
  },
  opportunities: {
    id: text,
    customerId: text,
    accountId: text,
    name: text,
    stage: oneOf(opportunityStages),
    amount: number,
    currency: text,
    productIds: { kind: 'array' },
    closeDate: { kind: 'date' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  orders: {
    id: text,
    customerId: text,
    accountId: text,
    orderDate: timestamp,
    region: oneOf(regions),
    segment: oneOf(segments),
    total: number,
    lines: { kind: 'array' },
  },
  products: {
    id: text,
    name: text,
    category: text,
    listPrice: number,
  },
  cases: {
    id: text,
    customerId: text,
    subject: text,
    priority: oneOf(casePriorities),
    status: oneOf(caseStatuses),
    openedAt: timestamp,
    closedAt: timestamp,
  },
} as const satisfies Record<string, Record<string, FieldSpec>>;

export type QueryableContainer = keyof typeof queryableContainers;
export const queryableContainerNames = Object.keys(queryableContainers) as QueryableContainer[];

// Field names are written into the SQL text, so they must stay plain identifiers.
for (const fields of Object.values(queryableContainers)) {
  for (const name of Object.keys(fields)) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`Queryable field "${name}" is not a plain identifier.`);
  }
}

export const filterOperators = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'contains', 'starts_with'] as const;
export type FilterOperator = (typeof filterOperators)[number];

/** Which operators apply to which kind of field. */
const operatorsByKind: Record<FieldKind, readonly FilterOperator[]> = {
  string: filterOperators,
  enum: ['eq', 'ne', 'in'],
  number: ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in'],
  timestamp: ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'starts_with'],
  date: ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'starts_with'],
  array: [],
};

const comparisons: Partial<Record<FilterOperator, string>> = {
  eq: '=',
  ne: '!=',
  lt: '<',
  lte: '<=',
  gt: '>',
  gte: '>=',
};

/** Limits on a filter's shape. */
export const FILTER_LIMITS = {
  /** Nested and/or groups, counting the outermost one. */
  maxDepth: 3,
  /** Conditions (leaves) in the whole filter. */
  maxConditions: 20,
  /** Values of one `in` condition. */
  maxInValues: 50,
  /** Characters of one string value. */
  maxStringLength: 500,
} as const;

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

const scalarValue = z.union([z.string().max(FILTER_LIMITS.maxStringLength), z.number()]);
const conditionShape = {
  field: z.string().max(64).optional().describe('Field to test; one of the container’s queryable fields.'),
  op: z
    .enum(filterOperators, { error: () => `Unknown operator; use one of ${filterOperators.join(', ')}` })
    .optional()
    .describe(
      'eq, ne, lt, lte, gt, gte (numbers, strings, timestamps), in (value is an array of at most ' +
        `${FILTER_LIMITS.maxInValues}), contains and starts_with (strings; starts_with also on timestamps and dates).`,
    ),
  value: z
    .union([...scalarValue.options, z.array(scalarValue).max(FILTER_LIMITS.maxInValues)], {
      error: ({ input }) =>
        Array.isArray(input) && input.length > FILTER_LIMITS.maxInValues
          ? `"in" takes at most ${FILTER_LIMITS.maxInValues} values, got ${input.length}`
          : 'value must be a string, a number, or (for "in") an array of them',
    })
    .optional()
    .describe('Value to compare with: a string or a number as the field requires, an array for "in".'),
  ignore_case: z
    .boolean()
    .optional()
    .describe('For contains and starts_with: compare case-insensitively. Default false.'),
};

/** A condition `{ field, op, value }` or a group `{ and: [...] }` / `{ or: [...] }`. */
export interface FilterNode {
  field?: string | undefined;
  op?: FilterOperator | undefined;
  value?: string | number | (string | number)[] | undefined;
  ignore_case?: boolean | undefined;
  and?: FilterNode[] | undefined;
  or?: FilterNode[] | undefined;
}

const groupDescription = (word: 'and' | 'or') =>
  `A group: ${word === 'and' ? 'every' : 'at least one'} of these nodes must match. Give either a group or a ` +
  'condition in one node, not both.';

/**
 * A filter node nested at most `levels` groups deep. The schema is finite (no recursion), so its
 * JSON Schema shows the depth limit and a hostile, deeply nested filter is rejected level by level.
 */
function filterNodeSchema(levels: number): z.ZodType<FilterNode> {
  const tooDeep = z
    .never({ error: () => `filters nest at most ${FILTER_LIMITS.maxDepth} and/or groups deep` })
    .optional();
  const children = levels > 0 ? z.array(filterNodeSchema(levels - 1)).min(1) : undefined;
  return z
    .strictObject({
      ...conditionShape,
      and: children ? children.optional().describe(groupDescription('and')) : tooDeep,
      or: children ? children.optional().describe(groupDescription('or')) : tooDeep,
    })
    .meta({ id: `query_data_filter_depth_${levels}` }) as z.ZodType<FilterNode>;
}

export const filterSchema = filterNodeSchema(FILTER_LIMITS.maxDepth).describe(
  'A condition { "field", "op", "value" } or a group { "and": [...] } / { "or": [...] } of nodes, nested at most ' +
    `${FILTER_LIMITS.maxDepth} groups deep with at most ${FILTER_LIMITS.maxConditions} conditions in all. ` +
    'Example: { "and": [ { "field": "stage", "op": "eq", "value": "proposal" }, ' +
    '{ "field": "amount", "op": "gte", "value": 50000 } ] }. Conditions on a field a record lacks do not match it.',
);

export interface QuerySpec {
  container: QueryableContainer;
  filter: FilterNode;
  /** Fields to return; all queryable fields when omitted. */
  fields?: readonly string[] | undefined;
  order_by?: { field: string; direction?: 'asc' | 'desc' | undefined } | undefined;
  /** Value bound to `@limit` in `SELECT TOP @limit`. */
  top: number;
}

export type QueryParameter = { name: `@${string}`; value: string | number | (string | number)[] };

export interface CompiledQuery {
  /** SQL text: allowlisted field names and `@parameter` placeholders only. */
  sql: string;
  parameters: QueryParameter[];
  /** Fields projected, in order. */
  fields: string[];
  /** The partition key value when the filter pins one (an `eq` on it, alone or ANDed at the top). */
  partitionKey: string | number | undefined;
}

/** A query the compiler refuses, with the path (under the tool's arguments) of the offending part. */
export class QueryCompileError extends Error {
  override readonly name = 'QueryCompileError';
  readonly path: (string | number)[];
  constructor(message: string, path: (string | number)[]) {
    super(message);
    this.path = path;
  }
}

type Path = (string | number)[];

/** Compiles a structured query to parameterised Cosmos SQL, or throws `QueryCompileError`. */
export function compileQuery(spec: QuerySpec): CompiledQuery {
  const { container } = spec;
  if (!Object.hasOwn(queryableContainers, container)) {
    throw new QueryCompileError(
      `Unknown container "${String(container)}"; queryable containers: ${queryableContainerNames.join(', ')}`,
      ['container'],
    );
  }
  const catalogue: Record<string, FieldSpec> = queryableContainers[container];
  const fieldNames = Object.keys(catalogue);
  const lookup = (name: unknown, path: Path): FieldSpec & { name: string } => {
    if (typeof name !== 'string' || !Object.hasOwn(catalogue, name)) {
      throw new QueryCompileError(
        `Unknown field ${JSON.stringify(name)} for container "${container}"; queryable fields: ${fieldNames.join(', ')}`,
        path,
      );
    }
    return { name, ...catalogue[name]! };
  };

  const parameters: QueryParameter[] = [{ name: '@limit', value: spec.top }];
  const bind = (value: QueryParameter['value']): string => {
    const name = `@p${parameters.length - 1}` as const;
    parameters.push({ name, value });
    return name;
  };
  let conditions = 0;

  const compileNode = (node: FilterNode, path: Path, depth: number): string => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      throw new QueryCompileError('A filter node must be an object', path);
    }
    const groupKeys = (['and', 'or'] as const).filter((k) => node[k] !== undefined);
    const hasCondition = node.field !== undefined || node.op !== undefined || node.value !== undefined;
    if (groupKeys.length > 1 || (groupKeys.length === 1 && hasCondition)) {
      throw new QueryCompileError(
        'A filter node is either a condition { field, op, value } or one group { and: [...] } / { or: [...] }; split it',
        path,
      );
    }
    const group = groupKeys[0];
    if (group) {
      if (depth >= FILTER_LIMITS.maxDepth) {
        throw new QueryCompileError(`filters nest at most ${FILTER_LIMITS.maxDepth} and/or groups deep`, [
          ...path,
          group,
        ]);
      }
      const children = node[group];
      if (!Array.isArray(children) || children.length === 0) {
        throw new QueryCompileError(`"${group}" needs a non-empty array of filter nodes`, [...path, group]);
      }
      const parts = children.map((child, i) => compileNode(child, [...path, group, i], depth + 1));
      const joined = parts.join(` ${group.toUpperCase()} `);
      // Nested groups are parenthesised; the outermost needs no parentheses.
      return parts.length === 1 || depth === 0 ? joined : `(${joined})`;
    }
    return compileCondition(node, path);
  };

  const compileCondition = (node: FilterNode, path: Path): string => {
    conditions += 1;
    if (conditions > FILTER_LIMITS.maxConditions) {
      throw new QueryCompileError(`filters hold at most ${FILTER_LIMITS.maxConditions} conditions`, path);
    }
    const field = lookup(node.field, [...path, 'field']);
    const { op } = node;
    if (op === undefined || !(filterOperators as readonly string[]).includes(op)) {
      throw new QueryCompileError(`Unknown operator; use one of ${filterOperators.join(', ')}`, [...path, 'op']);
    }
    const allowed = operatorsByKind[field.kind];
    if (!allowed.includes(op)) {
      throw new QueryCompileError(
        allowed.length === 0
          ? `Field "${field.name}" is an array; it can be returned but not filtered on`
          : `Operator "${op}" does not apply to ${field.kind} field "${field.name}"; use one of ${allowed.join(', ')}`,
        [...path, 'op'],
      );
    }
    if (node.ignore_case !== undefined && op !== 'contains' && op !== 'starts_with') {
      throw new QueryCompileError('ignore_case applies only to contains and starts_with', [...path, 'ignore_case']);
    }
    const valuePath = [...path, 'value'];
    const ref = `c.${field.name}`;
    if (op === 'in') {
      const values = node.value;
      if (!Array.isArray(values) || values.length === 0 || values.length > FILTER_LIMITS.maxInValues) {
        throw new QueryCompileError(
          `"in" needs an array of 1 to ${FILTER_LIMITS.maxInValues} values for field "${field.name}"`,
          valuePath,
        );
      }
      values.forEach((v, i) => {
        checkValue(field, op, v, [...valuePath, i]);
      });
      return `ARRAY_CONTAINS(${bind(values)}, ${ref})`;
    }
    const value = checkValue(field, op, node.value, valuePath);
    if (op === 'contains' || op === 'starts_with') {
      const fn = op === 'contains' ? 'CONTAINS' : 'STARTSWITH';
      if (node.ignore_case) return `${fn}(LOWER(${ref}), ${bind(String(value).toLowerCase())})`;
      return `${fn}(${ref}, ${bind(value)})`;
    }
    return `${ref} ${comparisons[op]} ${bind(value)}`;
  };

  if (spec.filter === undefined) throw new QueryCompileError('filter is required', ['filter']);
  const where = compileNode(spec.filter, ['filter'], 0);

  const fields = spec.fields?.length
    ? [...new Set(spec.fields.map((name, i) => lookup(name, ['fields', i]).name))]
    : fieldNames;
  let orderBy = '';
  if (spec.order_by) {
    const field = lookup(spec.order_by.field, ['order_by', 'field']);
    if (field.kind === 'array') {
      throw new QueryCompileError(`Field "${field.name}" is an array and cannot be sorted on`, ['order_by', 'field']);
    }
    orderBy = ` ORDER BY c.${field.name} ${spec.order_by.direction === 'desc' ? 'DESC' : 'ASC'}`;
  }

  const sql = `SELECT TOP @limit ${fields.map((f) => `c.${f}`).join(', ')} FROM c WHERE ${where}${orderBy}`;
  return { sql, parameters, fields, partitionKey: pinnedPartitionKey(container, spec.filter) };
}

const isoDate = /^\d{4}-\d{2}-\d{2}$/;
const isoTimestamp = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?$/;
const isoPrefix = /^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d{0,3})?)?)?)?)?)?$/;

/** Checks one value against its field's kind; returns it unchanged. */
function checkValue(field: FieldSpec & { name: string }, op: FilterOperator, value: unknown, path: Path) {
  const fail = (expected: string): never => {
    throw new QueryCompileError(
      `Field "${field.name}" is ${field.kind === 'enum' ? 'an' : 'a'} ${field.kind}; value must be ${expected}, ` +
        `got ${JSON.stringify(value) ?? 'nothing'}`,
      path,
    );
  };
  if (field.kind === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) fail('a number');
    return value as number;
  }
  if (typeof value !== 'string') return fail('a string');
  if (value.length > FILTER_LIMITS.maxStringLength) fail(`at most ${FILTER_LIMITS.maxStringLength} characters`);
  if ((op === 'contains' || op === 'starts_with') && value.length === 0) fail('a non-empty string');
  if (field.kind === 'enum' && !field.values!.includes(value)) fail(`one of ${field.values!.join(', ')}`);
  if (field.kind === 'timestamp' || field.kind === 'date') {
    const pattern = op === 'starts_with' ? isoPrefix : field.kind === 'date' ? isoDate : isoTimestamp;
    if (!pattern.test(value)) {
      fail(
        op === 'starts_with'
          ? 'a prefix of an ISO 8601 date, e.g. 2026-03'
          : field.kind === 'date'
            ? 'a date YYYY-MM-DD'
            : 'an ISO 8601 UTC date or timestamp, e.g. 2026-03-01 or 2026-03-01T12:00:00Z',
      );
    }
  }
  return value;
}

/**
 * The partition key value a filter pins: an `eq` on the container's partition key field, either
 * the whole filter or a direct child of a top-level `and`. Without one the query is cross-partition.
 */
function pinnedPartitionKey(container: QueryableContainer, filter: FilterNode): string | number | undefined {
  const keyField = containerDefinitions[container].partitionKey.slice(1);
  const candidates = filter.and ?? [filter];
  const pin = candidates.find(
    (n) => n.field === keyField && n.op === 'eq' && n.and === undefined && n.or === undefined,
  );
  return typeof pin?.value === 'string' || typeof pin?.value === 'number' ? pin.value : undefined;
}

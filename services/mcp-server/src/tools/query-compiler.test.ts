import { describe, expect, it } from 'vitest';
import {
  compileQuery,
  type FilterNode,
  QueryCompileError,
  type QuerySpec,
  queryableContainerNames,
  queryableContainers,
} from './query-compiler.ts';

const spec = (filter: FilterNode, rest: Partial<QuerySpec> = {}): QuerySpec => ({
  container: 'opportunities',
  filter,
  top: 51,
  ...rest,
});
const cond = (field: string, op: string, value: unknown): FilterNode => ({ field, op, value }) as FilterNode;

function compileError(query: QuerySpec): QueryCompileError {
  try {
    compileQuery(query);
  } catch (error) {
    if (error instanceof QueryCompileError) return error;
    throw error;
  }
  throw new Error(`compiled: ${JSON.stringify(query)}`);
}

const opportunityFields = Object.keys(queryableContainers.opportunities).join(', ');

describe('compileQuery', () => {
  it('compiles an and-filter with a sort to parameterised SQL', () => {
    const compiled = compileQuery(
      spec(
        { and: [cond('stage', 'eq', 'proposal'), cond('amount', 'gte', 50_000)] },
        { fields: ['id', 'amount'], order_by: { field: 'amount', direction: 'desc' } },
      ),
    );
    expect(compiled.sql).toBe(
      'SELECT TOP @limit c.id, c.amount FROM c WHERE c.stage = @p0 AND c.amount >= @p1 ORDER BY c.amount DESC',
    );
    expect(compiled.parameters).toEqual([
      { name: '@limit', value: 51 },
      { name: '@p0', value: 'proposal' },
      { name: '@p1', value: 50_000 },
    ]);
    expect(compiled.fields).toEqual(['id', 'amount']);
    expect(compiled.partitionKey).toBeUndefined();
  });

  it('parenthesises nested groups and numbers parameters in order', () => {
    const { sql, parameters } = compileQuery(
      spec(
        {
          or: [
            { and: [cond('stage', 'ne', 'closed_lost'), { or: [cond('amount', 'lt', 10), cond('amount', 'gt', 99)] }] },
            cond('name', 'contains', 'Cloud'),
          ],
        },
        { fields: ['id'] },
      ),
    );
    expect(sql).toBe(
      'SELECT TOP @limit c.id FROM c WHERE (c.stage != @p0 AND (c.amount < @p1 OR c.amount > @p2)) OR CONTAINS(c.name, @p3)',
    );
    expect(parameters.map((p) => p.value)).toEqual([51, 'closed_lost', 10, 99, 'Cloud']);
  });

  it('compiles every operator', () => {
    const where = (filter: FilterNode, container: QuerySpec['container'] = 'opportunities') =>
      compileQuery(spec(filter, { container, fields: ['id'] })).sql.replace('SELECT TOP @limit c.id FROM c WHERE ', '');
    expect(where(cond('amount', 'eq', 1))).toBe('c.amount = @p0');
    expect(where(cond('amount', 'ne', 1))).toBe('c.amount != @p0');
    expect(where(cond('amount', 'lt', 1))).toBe('c.amount < @p0');
    expect(where(cond('amount', 'lte', 1))).toBe('c.amount <= @p0');
    expect(where(cond('amount', 'gt', 1))).toBe('c.amount > @p0');
    expect(where(cond('amount', 'gte', 1))).toBe('c.amount >= @p0');
    expect(where(cond('stage', 'in', ['proposal', 'negotiation']))).toBe('ARRAY_CONTAINS(@p0, c.stage)');
    expect(where(cond('name', 'contains', 'x'))).toBe('CONTAINS(c.name, @p0)');
    expect(where(cond('name', 'starts_with', 'x'))).toBe('STARTSWITH(c.name, @p0)');
    expect(where(cond('closeDate', 'starts_with', '2026-07'))).toBe('STARTSWITH(c.closeDate, @p0)');
    expect(where(cond('orderDate', 'gte', '2026-01-01'), 'orders')).toBe('c.orderDate >= @p0');

    const ignoreCase = compileQuery(spec({ ...cond('name', 'contains', 'ClOuD'), ignore_case: true }));
    expect(ignoreCase.sql).toContain('CONTAINS(LOWER(c.name), @p0)');
    expect(ignoreCase.parameters[1]).toEqual({ name: '@p0', value: 'cloud' });
  });

  it('projects every queryable field by default and de-duplicates requested ones', () => {
    expect(compileQuery(spec(cond('amount', 'gt', 0))).fields).toEqual(Object.keys(queryableContainers.opportunities));
    expect(compileQuery(spec(cond('amount', 'gt', 0), { fields: ['id', 'id', 'stage'] })).fields).toEqual([
      'id',
      'stage',
    ]);
  });

  it('pins the partition key only for an eq on it, alone or directly under a top-level and', () => {
    const key = (filter: FilterNode, container: QuerySpec['container'] = 'opportunities') =>
      compileQuery(spec(filter, { container })).partitionKey;
    expect(key(cond('customerId', 'eq', 'cus-000001'))).toBe('cus-000001');
    expect(key({ and: [cond('amount', 'gt', 1), cond('customerId', 'eq', 'cus-000002')] })).toBe('cus-000002');
    expect(key(cond('id', 'eq', 'cus-000003'), 'customers')).toBe('cus-000003');
    expect(key(cond('category', 'eq', 'security'), 'products')).toBe('security');
    expect(key({ or: [cond('customerId', 'eq', 'cus-000001'), cond('customerId', 'eq', 'cus-000002')] })).toBe(
      undefined,
    );
    expect(key(cond('customerId', 'ne', 'cus-000001'))).toBeUndefined();
    expect(key(cond('customerId', 'in', ['cus-000001']))).toBeUndefined();
    expect(key(cond('id', 'eq', 'opp-000001-01'))).toBeUndefined();
  });

  it('never writes a value into the SQL text', () => {
    const hostile = [
      "' OR 1=1 --",
      '"; DROP TABLE c; --',
      'x) OR (1=1',
      'c.secret = c.secret',
      '@limit2',
      '\\u0027',
      'SELECT * FROM c',
      '*/ OR /*',
      '\u0000',
    ];
    for (const value of hostile) {
      const { sql, parameters } = compileQuery(
        spec({
          or: [
            cond('name', 'eq', value),
            cond('name', 'contains', value),
            { ...cond('name', 'starts_with', value), ignore_case: true },
            cond('customerId', 'in', [value, 'cus-000001']),
          ],
        }),
      );
      expect(sql).toMatch(/^SELECT TOP @limit c\.\w+(, c\.\w+)* FROM c WHERE [\w.@(), =]+$/);
      expect(sql).not.toContain(value);
      expect(parameters.slice(1).map((p) => p.value)).toEqual([
        value,
        value,
        value.toLowerCase(),
        [value, 'cus-000001'],
      ]);
    }
  });

  it('rejects unknown or hostile field names, listing the allowed ones', () => {
    const names = [
      'stage; DROP',
      'c.id) OR (1=1',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'Stage',
      '',
    ];
    for (const name of names) {
      for (const [query, path] of [
        [spec(cond(name, 'eq', 'x')), ['filter', 'field']],
        [spec({ and: [cond('amount', 'gt', 1), cond(name, 'eq', 'x')] }), ['filter', 'and', 1, 'field']],
        [spec(cond('amount', 'gt', 1), { fields: ['id', name] }), ['fields', 1]],
        [spec(cond('amount', 'gt', 1), { order_by: { field: name } }), ['order_by', 'field']],
      ] as const) {
        const error = compileError(query);
        expect(error.path, name).toEqual(path);
        expect(error.message).toBe(
          `Unknown field ${JSON.stringify(name)} for container "opportunities"; queryable fields: ${opportunityFields}`,
        );
      }
    }
  });

  it('rejects containers outside the allowlist', () => {
    expect(queryableContainerNames).toEqual(['customers', 'accounts', 'opportunities', 'orders', 'products', 'cases']);
    for (const container of ['audit', 'memories', 'documents', '__proto__', 'toString', 'orders; DROP']) {
      const error = compileError(spec(cond('id', 'eq', 'x'), { container: container as QuerySpec['container'] }));
      expect(error.path).toEqual(['container']);
      expect(error.message).toContain(`Unknown container "${container}"`);
    }
  });

  it('rejects operators that do not apply to the field', () => {
    expect(compileError(spec(cond('stage', 'lt', 'proposal'))).message).toBe(
      'Operator "lt" does not apply to enum field "stage"; use one of eq, ne, in',
    );
    expect(compileError(spec(cond('amount', 'contains', '1'))).message).toContain(
      'Operator "contains" does not apply to number field "amount"',
    );
    expect(compileError(spec(cond('productIds', 'eq', 'prd-0001'))).message).toBe(
      'Field "productIds" is an array; it can be returned but not filtered on',
    );
    expect(compileError(spec(cond('amount', 'like', 1))).path).toEqual(['filter', 'op']);
    expect(compileError(spec({ ...cond('name', 'eq', 'x'), ignore_case: true })).path).toEqual([
      'filter',
      'ignore_case',
    ]);
    expect(compileError(spec(cond('amount', 'gt', 1), { order_by: { field: 'productIds' } })).message).toContain(
      'cannot be sorted on',
    );
  });

  it('rejects values of the wrong type, naming field, expectation and value', () => {
    const cases: [FilterNode, string][] = [
      [cond('amount', 'eq', '50000'), 'Field "amount" is a number; value must be a number, got "50000"'],
      [cond('amount', 'eq', Number.NaN), 'Field "amount" is a number; value must be a number, got null'],
      [cond('name', 'eq', 5), 'Field "name" is a string; value must be a string, got 5'],
      [cond('stage', 'eq', 'won'), 'Field "stage" is an enum; value must be one of prospecting, qualification'],
      [cond('closeDate', 'gte', '2026-07'), 'Field "closeDate" is a date; value must be a date YYYY-MM-DD'],
      [cond('createdAt', 'lt', 'yesterday'), 'Field "createdAt" is a timestamp; value must be an ISO 8601'],
      [cond('name', 'contains', ''), 'value must be a non-empty string'],
      [cond('stage', 'in', ['proposal', 'won']), 'value must be one of'],
      [cond('stage', 'in', 'proposal'), '"in" needs an array of 1 to 50 values for field "stage"'],
      [cond('stage', 'in', []), '"in" needs an array of 1 to 50 values'],
      [
        cond(
          'amount',
          'in',
          Array.from({ length: 51 }, (_, i) => i),
        ),
        '"in" needs an array of 1 to 50 values',
      ],
      [cond('amount', 'eq', undefined), 'Field "amount" is a number; value must be a number, got nothing'],
    ];
    for (const [filter, message] of cases) {
      expect(compileError(spec(filter)).message, JSON.stringify(filter)).toContain(message);
    }
    expect(compileError(spec(cond('stage', 'in', ['proposal', 'won']))).path).toEqual(['filter', 'value', 1]);
  });

  it('limits nesting to 3 groups and the filter to 20 conditions', () => {
    const nest = (depth: number): FilterNode =>
      depth === 0 ? cond('amount', 'gt', 1) : { [depth % 2 ? 'and' : 'or']: [nest(depth - 1)] };
    expect(() => compileQuery(spec(nest(3)))).not.toThrow();
    const tooDeep = compileError(spec(nest(4)));
    expect(tooDeep.message).toBe('filters nest at most 3 and/or groups deep');
    expect(tooDeep.path).toEqual(['filter', 'or', 0, 'and', 0, 'or', 0, 'and']);

    const many = (n: number): FilterNode => ({ or: Array.from({ length: n }, (_, i) => cond('amount', 'eq', i)) });
    expect(() => compileQuery(spec(many(20)))).not.toThrow();
    const tooMany = compileError(spec(many(21)));
    expect(tooMany.message).toBe('filters hold at most 20 conditions');
    expect(tooMany.path).toEqual(['filter', 'or', 20]);
  });

  it('rejects malformed nodes', () => {
    expect(compileError(spec({ ...cond('amount', 'gt', 1), and: [cond('amount', 'lt', 9)] })).message).toContain(
      'either a condition',
    );
    expect(compileError(spec({ and: [cond('amount', 'gt', 1)], or: [cond('amount', 'lt', 9)] })).path).toEqual([
      'filter',
    ]);
    expect(compileError(spec({ and: [] })).message).toBe('"and" needs a non-empty array of filter nodes');
    expect(compileError(spec({ or: [null as unknown as FilterNode] })).path).toEqual(['filter', 'or', 0]);
    expect(compileError(spec(undefined as unknown as FilterNode)).path).toEqual(['filter']);
  });
});

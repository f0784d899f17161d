import { generateSampleData, type SampleData } from '@mcp-broker/sample-data';
import type { Store } from '@mcp-broker/store';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestStore } from '../../test-support/test-store.ts';
import { testToolContext } from '../../test-support/tool-context.ts';
import type { FilterNode, QueryableContainer } from './query-compiler.ts';
import { buildQueryDataTool, queryDataTool as tool } from './query-data.ts';
import { type ToolContext, ToolError } from './tool-definition.ts';

const data = generateSampleData({ seed: 11, customers: 60 });
let store: Store;

useTestStore('query-data', {
  data,
  ready: async (s) => {
    store = s;
  },
});

function buildContext(signal?: AbortSignal): ToolContext {
  const { context } = testToolContext(store, { permissions: ['Data.Read'] });
  return signal ? { ...context, signal } : context;
}

async function call(args: unknown, context = buildContext(), queryTool = tool) {
  return queryTool.handler(queryTool.inputSchema.parse(args), context);
}

/** The schema's complaints as `path: message`. */
function issues(args: unknown): string[] {
  const parsed = tool.inputSchema.safeParse(args);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

type Row = Record<string, unknown>;

/** An independent evaluation of a filter over the generated arrays, with Cosmos DB's rules: a
 * comparison between different types (or with a missing field) is undefined, so it does not match. */
function matches(row: Row, node: FilterNode): boolean {
  if (node.and) return node.and.every((n) => matches(row, n));
  if (node.or) return node.or.some((n) => matches(row, n));
  const actual = row[node.field!];
  const { value } = node;
  const sameType = (v: unknown) => typeof actual === typeof v && (typeof v === 'string' || typeof v === 'number');
  switch (node.op) {
    case 'eq':
      return sameType(value) && actual === value;
    case 'ne':
      return sameType(value) && actual !== value;
    case 'lt':
      return sameType(value) && (actual as string) < (value as string);
    case 'lte':
      return sameType(value) && (actual as string) <= (value as string);
    case 'gt':
      return sameType(value) && (actual as string) > (value as string);
    case 'gte':
      return sameType(value) && (actual as string) >= (value as string);
    case 'in':
      return (value as unknown[]).includes(actual);
    case 'contains':
    case 'starts_with': {
      if (typeof actual !== 'string') return false;
      const [a, v] = node.ignore_case ? [actual.toLowerCase(), String(value).toLowerCase()] : [actual, String(value)];
      return node.op === 'contains' ? a.includes(v) : a.startsWith(v);
    }
    default:
      throw new Error(`op ${node.op}`);
  }
}

const rows = (container: QueryableContainer) => data[container as keyof SampleData] as unknown as Row[];
const ids = (items: Row[]) => items.map((i) => i.id as string).sort();
const cond = (field: string, op: string, value: unknown) => ({ field, op, value }) as FilterNode;

describe('query_data', () => {
  it('runs the documented example and matches an independent filter, sorted', async () => {
    const filter = { and: [cond('stage', 'eq', 'proposal'), cond('amount', 'gte', 20_000)] };
    const result = await call({
      container: 'opportunities',
      filter,
      fields: ['id', 'customerId', 'stage', 'amount'],
      order_by: { field: 'amount', direction: 'desc' },
      limit: 500,
    });
    const expected = data.opportunities
      .filter((o) => o.stage === 'proposal' && o.amount >= 20_000)
      .sort((a, b) => b.amount - a.amount);
    expect(expected.length).toBeGreaterThan(3);
    expect(result.items).toEqual(
      expected.map(({ id, customerId, stage, amount }) => ({ id, customerId, stage, amount })),
    );
    expect(result).toMatchObject({
      container: 'opportunities',
      count: expected.length,
      truncated: false,
      crossPartition: true,
      sql:
        'SELECT TOP @limit c.id, c.customerId, c.stage, c.amount FROM c WHERE c.stage = @p0 AND c.amount >= @p1 ' +
        'ORDER BY c.amount DESC',
      parameters: [
        { name: '@limit', value: 501 },
        { name: '@p0', value: 'proposal' },
        { name: '@p1', value: 20_000 },
      ],
    });
  });

  it('returns what an independent filter over the generated arrays returns', async () => {
    const customerId = data.customers[4]!.id;
    const queries: [QueryableContainer, FilterNode][] = [
      ['customers', cond('segment', 'eq', 'enterprise')],
      ['customers', { and: [cond('region', 'in', ['emea', 'apac']), cond('segment', 'ne', 'smb')] }],
      ['customers', { ...cond('name', 'contains', 'corp'), ignore_case: true }],
      ['customers', cond('name', 'starts_with', 'N')],
      ['accounts', { and: [cond('tier', 'eq', 'platinum'), cond('annualRevenue', 'gt', 1_000_000_000)] }],
      ['orders', cond('customerId', 'eq', customerId)],
      ['orders', { and: [cond('orderDate', 'gte', '2026-01-01'), cond('orderDate', 'lt', '2026-04-01')] }],
      ['orders', cond('orderDate', 'starts_with', '2025-11')],
      [
        'orders',
        { or: [cond('total', 'lt', 1_000), { and: [cond('region', 'eq', 'apac'), cond('total', 'gt', 50_000)] }] },
      ],
      ['opportunities', cond('closeDate', 'gte', '2026-07-01')],
      ['products', { and: [cond('category', 'eq', 'security'), cond('listPrice', 'lte', 500)] }],
      ['cases', { and: [cond('status', 'ne', 'closed'), cond('priority', 'in', ['medium', 'high', 'critical'])] }],
      // Cases without closedAt do not match either comparison (Cosmos DB: undefined never matches).
      ['cases', { or: [cond('closedAt', 'ne', '2000-01-01'), cond('openedAt', 'lt', '2025-01-01')] }],
      ['cases', cond('subject', 'contains', 'log in')],
    ];
    for (const [container, filter] of queries) {
      const result = await call({ container, filter, limit: 500 });
      const expected = rows(container).filter((row) => matches(row, filter));
      expect(expected.length, `${JSON.stringify(filter)} should match some but not all`).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(rows(container).length);
      expect(ids(result.items), JSON.stringify(filter)).toEqual(ids(expected));
      expect(result.truncated).toBe(false);
      expect(result.count).toBe(expected.length);
    }
  }, 60_000);

  it('returns only the requested fields, with no Cosmos system properties', async () => {
    const result = await call({
      container: 'cases',
      filter: cond('status', 'eq', 'closed'),
      fields: ['id', 'closedAt'],
    });
    expect(result.items.length).toBeGreaterThan(0);
    for (const item of result.items) expect(Object.keys(item).sort()).toEqual(['closedAt', 'id']);

    const all = await call({ container: 'customers', filter: cond('id', 'eq', data.customers[0]!.id) });
    expect(all.items).toEqual([data.customers[0]]);
    expect(JSON.stringify(all)).not.toMatch(/"_(rid|etag|self|ts)"/);
    expect(tool.outputSchema.strict().parse(all)).toBeTruthy();
  });

  it('stays in one partition when the filter pins the partition key', async () => {
    const customerId = data.customers[7]!.id;
    const result = await call({
      container: 'orders',
      filter: { and: [cond('customerId', 'eq', customerId), cond('total', 'gt', 0)] },
      fields: ['id', 'customerId'],
    });
    expect(result.crossPartition).toBe(false);
    expect(ids(result.items)).toEqual(ids(data.orders.filter((o) => o.customerId === customerId)));
  });

  it('says truncated when more records match than the limit', async () => {
    const filter = cond('total', 'gt', 0);
    const three = await call({
      container: 'orders',
      filter,
      limit: 3,
      order_by: { field: 'total', direction: 'desc' },
    });
    expect(three.count).toBe(3);
    expect(three.truncated).toBe(true);
    expect(three.items.map((i) => i.total)).toEqual(
      data.orders
        .map((o) => o.total)
        .sort((a, b) => b - a)
        .slice(0, 3),
    );

    const exact = data.products.filter((p) => p.category === 'security').length;
    const fits = await call({ container: 'products', filter: cond('category', 'eq', 'security'), limit: exact });
    expect(fits).toMatchObject({ count: exact, truncated: false });
  });

  it('stops a cross-partition read at its page budget and says truncated', async () => {
    const budgeted = buildQueryDataTool({ pageSize: 5, maxPages: 2 });
    const result = await call({ container: 'orders', filter: cond('total', 'gt', 0), limit: 100 }, undefined, budgeted);
    expect(result.count).toBe(10);
    expect(result.truncated).toBe(true);
    expect(result.crossPartition).toBe(true);

    const small = await call(
      { container: 'products', filter: cond('id', 'eq', 'prd-0001') },
      undefined,
      buildQueryDataTool({ pageSize: 5, maxPages: 1 }),
    );
    expect(small).toMatchObject({ count: 1, truncated: false });
  });

  it('treats hostile values as plain values: no match, no error', async () => {
    const hostile = ["' OR 1=1 --", '" OR ""="', "x' OR 'x'='x", '1; DROP TABLE c', "\\' OR 1=1", ') OR (1=1'];
    for (const value of hostile) {
      const queries: [QueryableContainer, FilterNode][] = [
        ['customers', cond('name', 'eq', value)],
        ['customers', cond('id', 'in', [value])],
        ['orders', cond('customerId', 'eq', value)],
        ['cases', cond('subject', 'contains', value)],
        // ne matches every case: the value is compared, never executed.
        ['cases', { or: [cond('subject', 'starts_with', value), cond('customerId', 'ne', value)] }],
      ];
      for (const [container, filter] of queries) {
        const result = await call({ container, filter, limit: 500 });
        const expected = rows(container).filter((row) => matches(row, filter));
        expect(ids(result.items), `${container} ${JSON.stringify(filter)}`).toEqual(ids(expected));
        expect(result.sql).not.toContain(value);
        expect(result.sql).not.toMatch(/['"]/);
      }
    }
  }, 60_000);

  it('rejects hostile or unknown field names, listing the queryable ones', () => {
    const allowed =
      'id, customerId, accountId, name, stage, amount, currency, productIds, closeDate, createdAt, updatedAt';
    for (const field of ['stage; DROP', 'c.id) OR (1=1', '__proto__', 'constructor', 'stage --']) {
      expect(issues({ container: 'opportunities', filter: cond(field, 'eq', 'x') })).toEqual([
        `filter.field: Unknown field ${JSON.stringify(field)} for container "opportunities"; queryable fields: ${allowed}`,
      ]);
      expect(issues({ container: 'opportunities', filter: cond('amount', 'gt', 1), fields: [field] })[0]).toMatch(
        /^fields\.0: Unknown field/,
      );
      expect(issues({ container: 'opportunities', filter: cond('amount', 'gt', 1), order_by: { field } })[0]).toMatch(
        /^order_by\.field: Unknown field/,
      );
    }
  });

  it('refuses containers outside the allowlist', async () => {
    for (const container of ['audit', 'memories', 'documents', 'c', '__proto__']) {
      expect(issues({ container, filter: cond('id', 'eq', 'x') })).toEqual([
        `container: Unknown container "${container}"; queryable containers: customers, accounts, opportunities, ` +
          'orders, products, cases',
      ]);
      // A caller that skips the schema still gets a tool error, not a read.
      const error = await tool
        .handler({ container, filter: cond('id', 'eq', 'x'), limit: 5 } as never, buildContext())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ToolError);
      expect((error as Error).message).toContain(`Unknown container "${container}"`);
    }
  });

  it('names the bad operator, the wrong value type, the nesting and the size limits', () => {
    expect(issues({ container: 'orders', filter: cond('total', 'like', 5) })).toEqual([
      'filter.op: Unknown operator; use one of eq, ne, lt, lte, gt, gte, in, contains, starts_with',
    ]);
    expect(issues({ container: 'orders', filter: cond('region', 'gt', 'emea') })).toEqual([
      'filter.op: Operator "gt" does not apply to enum field "region"; use one of eq, ne, in',
    ]);
    expect(issues({ container: 'orders', filter: cond('total', 'gte', '5000') })).toEqual([
      'filter.value: Field "total" is a number; value must be a number, got "5000"',
    ]);
    expect(issues({ container: 'orders', filter: cond('total', 'gte', true) })).toEqual([
      'filter.value: value must be a string, a number, or (for "in") an array of them',
    ]);
    expect(issues({ container: 'orders', filter: cond('region', 'eq', "emea' OR 1=1 --") })).toEqual([
      `filter.value: Field "region" is an enum; value must be one of emea, amer, apac, got "emea' OR 1=1 --"`,
    ]);
    expect(
      issues({
        container: 'orders',
        filter: cond(
          'id',
          'in',
          Array.from({ length: 51 }, (_, i) => `o${i}`),
        ),
      }),
    ).toEqual(['filter.value: "in" takes at most 50 values, got 51']);
    expect(
      issues({
        container: 'orders',
        filter: cond(
          'id',
          'in',
          Array.from({ length: 50 }, (_, i) => `o${i}`),
        ),
      }),
    ).toEqual([]);
    const deep = { and: [{ or: [{ and: [{ or: [cond('total', 'gt', 1)] }] }] }] };
    expect(issues({ container: 'orders', filter: deep })).toEqual([
      'filter.and.0.or.0.and.0.or: filters nest at most 3 and/or groups deep',
    ]);
    expect(issues({ container: 'orders', filter: deep.and[0] })).toEqual([]);
    const many = { or: Array.from({ length: 21 }, (_, i) => cond('total', 'eq', i)) };
    expect(issues({ container: 'orders', filter: many })).toEqual(['filter.or.20: filters hold at most 20 conditions']);
    expect(issues({ container: 'orders', filter: { ...cond('total', 'eq', 1), drop: 1 } })).toEqual([
      'filter: Unrecognized key: "drop"',
    ]);
    expect(issues({ container: 'orders' })[0]).toMatch(/^filter: /);
    for (const limit of [0, 501, 2.5]) {
      expect(issues({ container: 'orders', filter: cond('total', 'gt', 1), limit })[0]).toMatch(/^limit: /);
    }
  });

  it('does not query when its signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    await expect(
      call({ container: 'orders', filter: cond('total', 'gt', 0) }, buildContext(controller.signal)),
    ).rejects.toThrow(/cancelled by test|abort/i);
  });

  it('declares its permission, timeout and self-documenting schemas', () => {
    expect(tool.name).toBe('query_data');
    expect(tool.requiredPermissions).toEqual(['Data.Read']);
    expect(tool.timeoutMs).toBe(15_000);
    expect(tool.readOnly ?? true).toBe(true);
    const input = z.toJSONSchema(tool.inputSchema, { io: 'input' }) as {
      properties: Record<string, { description?: string }>;
    };
    for (const [name, property] of Object.entries(input.properties)) expect(property.description, name).toBeTruthy();
    const output = z.toJSONSchema(tool.outputSchema) as { properties: Record<string, { description?: string }> };
    for (const [name, property] of Object.entries(output.properties)) expect(property.description, name).toBeTruthy();
  });
});

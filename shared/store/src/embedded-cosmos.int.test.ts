import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinearRows, patchQueryEngine } from './embedded-cosmos.ts';
import { createStore, type Store } from './index.ts';

type Executor = (collection: unknown[], options: Record<string, unknown>) => unknown;
interface ExecResult {
  result: unknown[];
  continuation: { token: string } | null;
}

const requireFromServer = createRequire(import.meta.resolve('@vercel/cosmosdb-server'));
const compile = (requireFromServer('@zeit/cosmosdb-query') as { default: (sql: string) => { code: string } }).default;
const executorModule = requireFromServer('@zeit/cosmosdb-query/lib/executor') as { default: Executor };

/** Synthetic documents exercising what the compiled queries touch: nesting, arrays, missing fields. */
function documents(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `doc-${String(i).padStart(6, '0')}`,
    _rid: `rid-${String(i).padStart(6, '0')}`,
    customerId: `cus-${String(i % 50).padStart(6, '0')}`,
    n: (i * 7919) % 1000,
    group: ['a', 'b', 'c'][i % 3]!,
    tags: i % 4 === 0 ? [] : ['a', 'b', 'c'].slice(0, i % 4),
    lines: Array.from({ length: i % 3 }, (_, j) => ({ sku: `s${j}`, parts: [j, j + 1] })),
    ...(i % 5 === 0 ? {} : { nested: { x: i % 11 } }),
    ...(i % 2 === 0 ? { maybe: i } : {}),
  }));
}

describe('query engine patch', () => {
  const rows = documents(1_500);
  const patch = patchQueryEngine();

  it('is applied once, to the audited version', () => {
    expect(patch.applied).toBe(true);
    expect(patch.version).toBe('0.7.2');
    expect(executorModule.default).not.toBe(patch.original);
    const again = patchQueryEngine();
    expect(again.original).toBe(patch.original);
    expect(executorModule.default).not.toBe(patch.original);
  });

  const queries: [string, { name: string; value: unknown }[]?][] = [
    ['SELECT * FROM c'],
    ['SELECT VALUE COUNT(1) FROM c'],
    ['SELECT c.id, c.n FROM c WHERE c.n % 7 = 3 AND c["group"] = @g', [{ name: '@g', value: 'b' }]],
    ['SELECT TOP 5 c.id, c.n FROM c ORDER BY c.n DESC'],
    ['SELECT c.id, t FROM c JOIN t IN c.tags WHERE t != "b"'],
    ['SELECT c.id, l.sku, p FROM c JOIN l IN c.lines JOIN p IN l.parts'],
    ['SELECT VALUE SUM(c.n) FROM c WHERE c.n > 100'],
    ['SELECT c.id FROM c WHERE EXISTS(SELECT VALUE t FROM t IN c.tags WHERE t = "c")'],
    ['SELECT c.id, ARRAY_CONCAT(c.tags, ["z"], c.tags) AS tags FROM c'],
    ['SELECT c.id, c.maybe FROM c'],
    ['SELECT VALUE n FROM c.nested n'],
    ['SELECT c.id FROM c WHERE ARRAY_CONTAINS(@ids, c.id)', [{ name: '@ids', value: ['doc-000003', 'doc-000042'] }]],
  ];

  it.each(queries)('gives the same result as the original executor: %s', (sql, parameters = []) => {
    const { code } = compile(sql);
    const options = { code, parameters };
    const expected = patch.original(rows, options) as ExecResult;
    const actual = executorModule.default(rows, options) as ExecResult;
    expect(actual).toEqual(expected);
    expect(Array.isArray(actual.result) && !(actual.result instanceof LinearRows)).toBe(true);
  });

  it('pages identically, continuation tokens included', () => {
    const { code } = compile('SELECT c.id, c.n FROM c WHERE c.n > 10 ORDER BY c.n');
    const pages = (executor: Executor) => {
      const out: ExecResult[] = [];
      let continuation: ExecResult['continuation'] = null;
      do {
        const page = executor(rows, { code, maxItemCount: 100, continuation }) as ExecResult;
        out.push(page);
        continuation = page.continuation;
      } while (continuation);
      return out;
    };
    const expected = pages(patch.original);
    expect(expected.length).toBeGreaterThan(5);
    expect(pages(executorModule.default)).toEqual(expected);
  });

  it('keeps the ordinary reduce for any other initial value', () => {
    const linear = LinearRows.from([1, 2, 3]);
    expect(linear.reduce((sum, n) => sum + n, 0)).toBe(6);
    expect(linear.reduce((sum, n) => sum + n)).toBe(6);
    // biome-ignore lint/performance/noAccumulatingSpread: the query engine's own pattern, under test.
    expect(linear.reduce((acc, n) => [...acc, n * 2], [0])).toEqual([0, 2, 4, 6]);
    // biome-ignore lint/performance/noAccumulatingSpread: the query engine's own pattern, under test.
    expect(linear.reduce<number[]>((acc, n) => [...acc, n * 2], [])).toEqual([2, 4, 6]);
    expect(linear.filter((n) => n > 1)).toBeInstanceOf(LinearRows);
  });
});

describe('embedded server with ~20k documents', () => {
  const COUNT = 20_000;
  const docs = documents(COUNT).map(({ _rid, ...doc }) => doc);
  let store: Store;

  beforeAll(async () => {
    store = await createStore({ databaseId: `linear-${process.pid}-${Date.now()}` });
    const container = store.container('orders');
    const batches: (typeof docs)[] = [];
    for (let i = 0; i < docs.length; i += 1_000) batches.push(docs.slice(i, i + 1_000));
    await Promise.all(
      batches.map((batch) =>
        container.items.executeBulkOperations(
          batch.map((doc) => ({ operationType: 'Create' as const, partitionKey: doc.customerId, resourceBody: doc })),
        ),
      ),
    );
  }, 120_000);

  afterAll(async () => {
    await store?.close();
  });

  it('counts every document', async () => {
    const { resources } = await store
      .container('orders')
      .items.query<number>('SELECT VALUE COUNT(1) FROM c')
      .fetchAll();
    expect(resources).toEqual([COUNT]);
  }, 60_000);

  it('returns exactly the filtered documents, across pages', async () => {
    const expected = docs
      .filter((d) => d.n % 97 === 5 && d.group === 'c')
      .map((d) => d.id)
      .sort();
    const iterator = store.container('orders').items.query<{ id: string }>(
      {
        query: 'SELECT c.id FROM c WHERE c.n % 97 = @rest AND c["group"] = @group',
        parameters: [
          { name: '@rest', value: 5 },
          { name: '@group', value: 'c' },
        ],
      },
      { maxItemCount: 20 },
    );
    const ids: string[] = [];
    let pages = 0;
    while (iterator.hasMoreResults()) {
      const { resources } = await iterator.fetchNext();
      ids.push(...resources.map((r) => r.id));
      pages += 1;
    }
    expect(expected.length).toBeGreaterThan(40);
    expect(pages).toBeGreaterThan(1);
    expect(ids.sort()).toEqual(expected);
  }, 60_000);

  it('answers a single-partition query with the partition’s documents', async () => {
    const customerId = 'cus-000007';
    const { resources } = await store
      .container('orders')
      .items.query<{ id: string; n: number }>(
        {
          query: 'SELECT c.id, c.n FROM c WHERE c.customerId = @customerId ORDER BY c.n DESC',
          parameters: [{ name: '@customerId', value: customerId }],
        },
        { partitionKey: customerId },
      )
      .fetchAll();
    const expected = docs.filter((d) => d.customerId === customerId);
    expect(resources).toHaveLength(COUNT / 50);
    expect(resources.map((r) => r.n)).toEqual(expected.map((d) => d.n).sort((a, b) => b - a));
  }, 60_000);
});

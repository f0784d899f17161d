import { createStore } from '@mcp-broker/store';

const store = await createStore({ databaseId: 'x' });
const orders = store.container('orders');
for (let i = 0; i < 30; i++) {
  await orders.items.upsert({
    id: `ord-${i}`,
    customerId: `cus-${i % 3}`,
    orderDate: `2025-0${(i % 9) + 1}-01`,
    total: i,
    region: i % 2 ? 'emea' : 'amer',
    lines: [{ productId: 'p1', amount: i }],
  });
}
async function tryQ(label: string, fn: () => Promise<unknown>) {
  try {
    const r = await fn();
    console.log('OK  ', label, JSON.stringify(r).slice(0, 200));
  } catch (e) {
    console.log('FAIL', label, (e as Error).message?.slice(0, 200), (e as { code?: unknown }).code);
  }
}
const p = (q: string, parameters: { name: string; value: string | number }[] = []) => ({ query: q, parameters });
await tryQ('pk query', () =>
  orders.items
    .query(p('SELECT * FROM c WHERE c.customerId = @c', [{ name: '@c', value: 'cus-1' }]), { partitionKey: 'cus-1' })
    .fetchAll()
    .then((r) => r.resources.length),
);
await tryQ('pk query ORDER BY', () =>
  orders.items
    .query(p('SELECT * FROM c WHERE c.customerId = @c ORDER BY c.orderDate DESC', [{ name: '@c', value: 'cus-1' }]), {
      partitionKey: 'cus-1',
    })
    .fetchAll()
    .then((r) => r.resources.map((x) => (x as { orderDate: string }).orderDate)),
);
await tryQ('pk query TOP ORDER BY', () =>
  orders.items
    .query(
      p('SELECT TOP 3 * FROM c WHERE c.customerId = @c ORDER BY c.orderDate DESC', [{ name: '@c', value: 'cus-1' }]),
      { partitionKey: 'cus-1' },
    )
    .fetchAll()
    .then((r) => r.resources.map((x) => (x as { orderDate: string }).orderDate)),
);
await tryQ('pk option but no where', () =>
  orders.items
    .query(p('SELECT * FROM c'), { partitionKey: 'cus-1' })
    .fetchAll()
    .then((r) => r.resources.length),
);
await tryQ('cross partition', () =>
  orders.items
    .query(p('SELECT * FROM c WHERE c.orderDate >= @f', [{ name: '@f', value: '2025-03-01' }]))
    .fetchAll()
    .then((r) => r.resources.length),
);
await tryQ('cross partition paged', async () => {
  const it = orders.items.query(
    p('SELECT c.id, c.total FROM c WHERE c.orderDate >= @f', [{ name: '@f', value: '2025-03-01' }]),
    { maxItemCount: 5 },
  );
  const sizes = [];
  while (it.hasMoreResults()) {
    const r = await it.fetchNext();
    sizes.push(r.resources.length);
  }
  return sizes;
});
await tryQ('cross partition ORDER BY', () =>
  orders.items
    .query(p('SELECT * FROM c ORDER BY c.orderDate DESC'))
    .fetchAll()
    .then((r) => r.resources.length),
);
await tryQ('cross partition SELECT VALUE COUNT', () =>
  orders.items
    .query(p('SELECT VALUE COUNT(1) FROM c'))
    .fetchAll()
    .then((r) => r.resources),
);
await tryQ('pk SELECT VALUE SUM', () =>
  orders.items
    .query(p('SELECT VALUE SUM(c.total) FROM c WHERE c.customerId = @c', [{ name: '@c', value: 'cus-1' }]), {
      partitionKey: 'cus-1',
    })
    .fetchAll()
    .then((r) => r.resources),
);
await tryQ('GROUP BY', () =>
  orders.items
    .query(p('SELECT c.region, SUM(c.total) AS t FROM c GROUP BY c.region'))
    .fetchAll()
    .then((r) => r.resources),
);
await tryQ('OFFSET LIMIT', () =>
  orders.items
    .query(p('SELECT * FROM c OFFSET 0 LIMIT 3'))
    .fetchAll()
    .then((r) => r.resources.length),
);
await tryQ('DISTINCT', () =>
  orders.items
    .query(p('SELECT DISTINCT VALUE c.region FROM c'))
    .fetchAll()
    .then((r) => r.resources),
);
await tryQ('ARRAY_CONTAINS IN', () =>
  orders.items
    .query(
      p('SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.customerId)', [
        { name: '@ids', value: ['cus-1', 'cus-2'] as unknown as string },
      ]),
    )
    .fetchAll()
    .then((r) => r.resources.length),
);
await tryQ('JOIN', () =>
  orders.items
    .query(
      p('SELECT c.id, l.productId, l.amount FROM c JOIN l IN c.lines WHERE c.region = @r', [
        { name: '@r', value: 'emea' },
      ]),
    )
    .fetchAll()
    .then((r) => r.resources.length),
);
await tryQ('STARTSWITH/SUBSTRING', () =>
  orders.items
    .query(
      p('SELECT VALUE SUBSTRING(c.orderDate, 0, 7) FROM c WHERE c.orderDate >= @f AND c.orderDate < @t', [
        { name: '@f', value: '2025-03-01' },
        { name: '@t', value: '2025-05-01' },
      ]),
    )
    .fetchAll()
    .then((r) => r.resources),
);
await tryQ('customers pk /id read', async () => {
  await store.container('customers').items.upsert({ id: 'cus-1', name: 'a' });
  return (await store.container('customers').item('cus-1', 'cus-1').read()).resource;
});
await tryQ('customers missing read', async () => {
  const r = await store.container('customers').item('cus-9', 'cus-9').read();
  return { status: r.statusCode, res: r.resource ?? null };
});
await tryQ('bulk', async () => {
  const r = await store.container('products').items.bulk([
    { operationType: 'Upsert', resourceBody: { id: 'p1', category: 'a' } },
    { operationType: 'Upsert', resourceBody: { id: 'p2', category: 'b' } },
  ]);
  return r.map((x) => x.statusCode);
});
await tryQ('batch', async () => {
  const r = await store
    .container('products')
    .items.batch([{ operationType: 'Upsert', resourceBody: { id: 'p3', category: 'a' } }], 'a');
  return r.result?.map((x) => x.statusCode);
});
await store.close();

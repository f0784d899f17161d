import type { OperationInput } from '@azure/cosmos';
import { createStore } from '@mcp-broker/store';

const store = await createStore({ databaseId: 'x' });
const c = store.container('orders');
const N = 20000;
const docs = Array.from({ length: N }, (_, i) => ({
  id: `o-${i}`,
  customerId: `cus-${i % 5000}`,
  total: i,
  lines: [{ a: 1, b: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }],
}));
let t = performance.now();
const ops: OperationInput[] = docs.map((d) => ({ operationType: 'Upsert', resourceBody: d }));
for (let i = 0; i < N; i += 1000) {
  const r = await c.items.executeBulkOperations(ops.slice(i, i + 1000));
  const bad = r.filter((x) => x.error || (x.response && x.response.statusCode >= 400));
  if (bad.length) console.log('bad', bad.length, JSON.stringify(bad[0]).slice(0, 300));
}
console.log('executeBulkOperations', Math.round(performance.now() - t), 'ms');
t = performance.now();
const docs2 = docs.map((d) => ({ ...d, id: `p-${d.id}` }));
let next = 0;
async function worker() {
  while (next < docs2.length) {
    const d = docs2[next++]!;
    await c.items.upsert(d);
  }
}
await Promise.all(Array.from({ length: 32 }, worker));
console.log('upsert x32', Math.round(performance.now() - t), 'ms');
t = performance.now();
for (let i = 0; i < N; i += 100) {
  const r = await c.items.bulk(
    docs.slice(i, i + 100).map((d) => ({ operationType: 'Upsert', resourceBody: { ...d, id: `q-${d.id}` } })),
  );
}
console.log('bulk(100)', Math.round(performance.now() - t), 'ms');
t = performance.now();
const { resources } = await c.items.query('SELECT VALUE COUNT(1) FROM c').fetchAll();
console.log('count', resources, Math.round(performance.now() - t), 'ms');
t = performance.now();
const it = c.items.query(
  { query: 'SELECT c.id, c.total FROM c WHERE c.total >= @x', parameters: [{ name: '@x', value: 0 }] },
  { maxItemCount: 1000 },
);
let n = 0,
  pages = 0;
while (it.hasMoreResults()) {
  const r = await it.fetchNext();
  n += r.resources.length;
  pages++;
}
console.log('paged', n, pages, Math.round(performance.now() - t), 'ms');
await store.close();

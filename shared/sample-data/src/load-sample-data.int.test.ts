import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleData, iterateCustomerRecords, type SampleData } from './generate-sample-data.ts';
import { type LoadProgress, loadSampleData, type SampleDataCounts } from './load-sample-data.ts';

const names = ['customers', 'accounts', 'opportunities', 'orders', 'products', 'cases'] as const;

async function countAll(store: Store): Promise<SampleDataCounts> {
  const entries = await Promise.all(
    names.map(async (name) => {
      const { resources } = await store.container(name).items.query<number>('SELECT VALUE COUNT(1) FROM c').fetchAll();
      return [name, resources[0] ?? 0] as const;
    }),
  );
  return Object.fromEntries(entries) as SampleDataCounts;
}

function lengths(data: SampleData): SampleDataCounts {
  return Object.fromEntries(names.map((n) => [n, data[n].length])) as SampleDataCounts;
}

describe('loadSampleData into the embedded store', () => {
  const data = generateSampleData({ seed: 7, customers: 60 });
  let store: Store;
  beforeAll(async () => {
    store = await createStore({ databaseId: `sample-${process.pid}-${Date.now()}` });
  });
  afterAll(async () => {
    await store.close();
  });

  it('writes every record, reports progress and reads back the same counts', async () => {
    const progress: LoadProgress[] = [];
    const counts = await loadSampleData(store, data, { batchSize: 100, onProgress: (p) => progress.push(p) });
    expect(counts).toEqual(lengths(data));
    expect(await countAll(store)).toEqual(lengths(data));
    const total = Object.values(lengths(data)).reduce((a, b) => a + b, 0);
    expect(progress.length).toBeGreaterThan(6);
    expect(progress.at(-1)).toMatchObject({ written: total, total, counts: lengths(data) });
  }, 60_000);

  it('is idempotent: loading again leaves the counts unchanged', async () => {
    await loadSampleData(store, data);
    expect(await countAll(store)).toEqual(lengths(data));
  }, 60_000);

  it('stores records as generated, under their partition keys', async () => {
    const order = data.orders[10]!;
    const { resource } = await store.container('orders').item(order.id, order.customerId).read();
    expect(resource).toMatchObject(order);
    const product = data.products[7]!;
    const read = await store.container('products').item(product.id, product.category).read();
    expect(read.resource).toMatchObject(product);
  }, 60_000);

  it('loads a stream of customers plus the product catalogue to the same counts', async () => {
    const other = await createStore({ databaseId: `stream-${process.pid}-${Date.now()}` });
    try {
      const progress: LoadProgress[] = [];
      const counts = await loadSampleData(other, iterateCustomerRecords({ seed: 7, customers: 60 }), {
        batchSize: 200,
        concurrency: 4,
        onProgress: (p) => progress.push(p),
      });
      expect(counts).toEqual(lengths(data));
      expect(await countAll(other)).toEqual(lengths(data));
      expect(progress.every((p) => p.total === undefined)).toBe(true);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('stops when its signal is aborted and validates its options', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    await expect(loadSampleData(store, data, { signal: controller.signal, batchSize: 10 })).rejects.toThrow(
      'cancelled by test',
    );
    await expect(loadSampleData(store, data, { batchSize: 0 })).rejects.toThrow(RangeError);
    await expect(loadSampleData(store, data, { concurrency: 1.5 })).rejects.toThrow(RangeError);
  });

  it('refuses a record without its partition key', async () => {
    const broken = { ...data, orders: [{ ...data.orders[0]!, customerId: undefined as unknown as string }] };
    await expect(loadSampleData(store, broken)).rejects.toThrow(
      `Record "${data.orders[0]!.id}" for container "orders" has no string partition key "customerId"`,
    );
  });
});

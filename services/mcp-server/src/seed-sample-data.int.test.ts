import { ConfigError, loadConfig } from '@mcp-broker/runtime';
import { generateSampleData } from '@mcp-broker/sample-data';
import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_SEED_WARNING, seedConfigSchema, seedSampleData } from './seed-sample-data.ts';

let store: Store;

beforeAll(async () => {
  store = await createStore({ databaseId: `seed-${process.pid}-${Date.now()}` });
});

afterAll(async () => {
  await store?.close();
});

async function count(container: Parameters<Store['container']>[0]): Promise<number> {
  const { resources } = await store.container(container).items.query<number>('SELECT VALUE COUNT(1) FROM c').fetchAll();
  return resources[0] ?? 0;
}

describe('seedSampleData', () => {
  it('streams the data set into the store, reports progress on a clock, and is idempotent', async () => {
    const expected = generateSampleData({ seed: 7, customers: 120 });
    const lines: string[] = [];
    // A fake clock that advances one second per reading: progress lines depend on it, not on timing.
    let t = 0;
    const options = {
      customers: 120,
      seed: 7,
      batchSize: 200,
      concurrency: 8,
      progressEveryMs: 2_000,
      log: (line: string) => lines.push(line),
      now: () => (t += 1_000),
    };
    const result = await seedSampleData(store, options);

    const counts = {
      customers: expected.customers.length,
      accounts: expected.accounts.length,
      opportunities: expected.opportunities.length,
      orders: expected.orders.length,
      products: expected.products.length,
      cases: expected.cases.length,
    };
    expect(result.counts).toEqual(counts);
    expect(result.records).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
    for (const [name, n] of Object.entries(counts)) expect(await count(name as keyof typeof counts), name).toBe(n);
    const customer = expected.customers[17]!;
    const { resource } = await store.container('customers').item(customer.id, customer.id).read();
    expect(resource).toMatchObject(customer);

    expect(lines[0]).toBe(EMBEDDED_SEED_WARNING);
    expect(lines[1]).toMatch(/^Seeding 120 customers \(seed 7\) into seed-\d+-\d+ at http:\/\/127\.0\.0\.1:\d+$/);
    const progress = lines.slice(2, -1);
    expect(progress.length).toBeGreaterThan(2);
    for (const line of progress)
      expect(line).toMatch(/^ {2}\d+\/120 customers generated, [\d,]+ records written, [\d,]+ records\/s$/);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^Seeded ${result.records.toLocaleString('en-US')} records in [\\d.]+ s \\([\\d,]+ records/s\\): customers 120, accounts ${counts.accounts}, `,
      ),
    );

    // Upserts: a second run writes the same records and adds none.
    await seedSampleData(store, { ...options, log: () => {} });
    expect(await count('orders')).toBe(counts.orders);
  }, 60_000);

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('interrupted'));
    await expect(
      seedSampleData(store, { customers: 10, seed: 1, log: () => {}, signal: controller.signal }),
    ).rejects.toThrow('interrupted');
  });
});

describe('seedConfigSchema', () => {
  it('defaults to 200 customers, seed 42 and the embedded store', () => {
    const config = loadConfig(seedConfigSchema, {});
    expect(config).toMatchObject({
      COSMOS_DATABASE: 'mcp-broker',
      SEED_CUSTOMERS: 200,
      SEED: 42,
      SEED_BATCH_SIZE: 1000,
      SEED_CONCURRENCY: 16,
      SEED_PROGRESS_SECONDS: 5,
    });
    expect(config.COSMOS_ENDPOINT).toBeUndefined();
  });

  it('parses sizes and requires a key with an endpoint', () => {
    expect(loadConfig(seedConfigSchema, { SEED_CUSTOMERS: '100000', SEED: '7' })).toMatchObject({
      SEED_CUSTOMERS: 100_000,
      SEED: 7,
    });
    expect(() => loadConfig(seedConfigSchema, { COSMOS_ENDPOINT: 'https://acct.documents.azure.com:443/' })).toThrow(
      /COSMOS_KEY: required when COSMOS_ENDPOINT is set/,
    );
    expect(() => loadConfig(seedConfigSchema, { SEED_CUSTOMERS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig(seedConfigSchema, { SEED_CUSTOMERS: '1000000' })).toThrow(/SEED_CUSTOMERS/);
  });
});

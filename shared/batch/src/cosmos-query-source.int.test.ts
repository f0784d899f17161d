import { randomUUID } from 'node:crypto';
import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchSourceError } from './batch-source.ts';
import { CosmosQuerySource } from './cosmos-query-source.ts';

let store: Store;

beforeAll(async () => {
  store = await createStore({ databaseId: `batch-source-${randomUUID()}` });
  const accounts = store.container('accounts');
  for (let i = 0; i < 25; i++) {
    await accounts.items.create({
      id: `acc-${String(i).padStart(3, '0')}`,
      customerId: 'c1',
      tier: i % 2 ? 'gold' : 'silver',
    });
  }
});
afterAll(async () => {
  await store?.close();
});

const source = (query: string, parameters: Record<string, unknown> = {}, container = 'accounts') =>
  new CosmosQuerySource({ store, container, query, parameters });

describe('Cosmos DB query source', () => {
  it('refuses a container the store does not have, as a final failure naming it', async () => {
    const read = source('SELECT * FROM c', {}, 'nope').readPage(undefined, 10);
    await expect(read).rejects.toBeInstanceOf(BatchSourceError);
    await expect(read).rejects.toMatchObject({ transient: false, message: 'The store has no container "nope".' });
  });

  it('reports a query the server cannot parse as a final failure with its message', async () => {
    const read = source('SELECT FROM WHERE').readPage(undefined, 10);
    await expect(read).rejects.toMatchObject({
      name: 'BatchSourceError',
      code: 'BATCH_SOURCE_FAILED',
      transient: false,
    });
  });

  it('reads every record once, page by page, with an opaque cursor and no system properties', async () => {
    const q = source('SELECT * FROM c WHERE c.tier = @tier ORDER BY c.id', { '@tier': 'gold' });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await q.readPage(cursor, 5);
      pages += 1;
      expect(page.records.length).toBeLessThanOrEqual(5);
      for (const r of page.records) {
        seen.push(r.id as string);
        expect(Object.keys(r).some((k) => k.startsWith('_'))).toBe(false);
      }
      cursor = page.next;
    } while (cursor);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('reads the same page again from the same cursor (a resumed run)', async () => {
    const q = source('SELECT * FROM c ORDER BY c.id');
    const first = await q.readPage(undefined, 10);
    expect(first.next).toBeDefined();
    const again = await q.readPage(first.next, 10);
    const twice = await q.readPage(first.next, 10);
    expect(twice.records.map((r) => r.id)).toEqual(again.records.map((r) => r.id));
    expect(again.records[0]?.id).toBe('acc-010');
  });
});

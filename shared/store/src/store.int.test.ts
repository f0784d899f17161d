import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from './index.ts';

describe('store on the embedded Cosmos-compatible server', () => {
  let store: Store;
  beforeAll(async () => {
    store = await createStore({ databaseId: `t-${Date.now()}` });
  });
  afterAll(async () => {
    await store.close();
  });

  it('starts embedded when no endpoint is configured and creates every container', async () => {
    expect(store.embedded).toBe(true);
    expect(store.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { resources } = await store.database.containers.readAll().fetchAll();
    expect(resources.map((r) => r.id).sort()).toEqual(
      [
        'accounts',
        'batchRuns',
        'audit',
        'cases',
        'checkpoints',
        'customers',
        'documents',
        'memories',
        'opportunities',
        'orders',
        'products',
        'toolCalls',
      ].sort(),
    );
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('rejects a replace with a stale ETag', async () => {
    const c = store.container('customers');
    const created = await c.items.create({ id: 'c1', name: 'A' });
    await c.item('c1', 'c1').replace({ id: 'c1', name: 'B' });
    await expect(
      c
        .item('c1', 'c1')
        .replace({ id: 'c1', name: 'C' }, { accessCondition: { type: 'IfMatch', condition: created.etag ?? '' } }),
    ).rejects.toMatchObject({ code: 412 });
  });
});

import { loadSampleData, type SampleData } from '@mcp-broker/sample-data';
import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, beforeAll } from 'vitest';

/**
 * An embedded store of the test file's own (a database named after the file and process), created
 * before its tests, loaded with `data` if given, handed to `ready` for the file's own setup, and
 * closed after its tests.
 */
export function useTestStore(
  name: string,
  options: { data?: SampleData; ready: (store: Store) => void | Promise<void> },
): void {
  let store: Store | undefined;
  beforeAll(async () => {
    store = await createStore({ databaseId: `${name}-${process.pid}-${Date.now()}` });
    if (options.data) await loadSampleData(store, options.data);
    await options.ready(store);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });
}

import type { ContainerName, Store } from '@mcp-broker/store';

/** A bound query parameter; values never enter the query text. */
export interface QueryParameter {
  name: string;
  value: string | number | string[];
}

/** What a Cosmos DB query iterator offers page by page. */
export interface PageIterator<T> {
  hasMoreResults(): boolean;
  fetchNext(): Promise<{ resources: T[] }>;
}

/**
 * Hands every page of a query to `onPage` in order. The signal is checked before and after every
 * page, so an abort stops the read between pages (it throws the signal's reason).
 */
export async function forEachPage<T>(
  iterator: PageIterator<T>,
  signal: AbortSignal,
  onPage: (rows: T[]) => void | Promise<void>,
): Promise<void> {
  while (iterator.hasMoreResults()) {
    signal.throwIfAborted();
    const { resources } = await iterator.fetchNext();
    signal.throwIfAborted();
    await onPage(resources);
  }
}

/** Every row of every page of a query. */
export async function readAllPages<T>(iterator: PageIterator<T>, signal: AbortSignal): Promise<T[]> {
  const rows: T[] = [];
  await forEachPage(iterator, signal, (page) => {
    rows.push(...page);
  });
  return rows;
}

/**
 * Every row a query returns from one partition. Reads stay in that partition, so their cost does
 * not grow with the data set. The query text is the caller's constant, never caller input.
 */
export async function scanPartition<T = unknown>(
  { store, signal }: { store: Store; signal: AbortSignal },
  container: ContainerName,
  partitionKey: string,
  query: string,
  parameters: QueryParameter[],
): Promise<T[]> {
  const iterator = store
    .container(container)
    .items.query<T>({ query, parameters }, { partitionKey, abortSignal: signal });
  return readAllPages(iterator, signal);
}

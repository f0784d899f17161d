import { type ContainerName, containerDefinitions, type Store } from '@mcp-broker/store';
import type { CustomerRecords } from './generate-customer-records.ts';
import type { SampleData } from './generate-sample-data.ts';
import { productCatalogue } from './product-catalogue.ts';

/** How a data set is written. */
export interface LoadSampleDataOptions {
  /**
   * Upserts per `executeBulkOperations` call. Default 1000. Each call costs at least one second
   * (the SDK's bulk executor polls its batches once a second), so calls must be large.
   */
  batchSize?: number;
  /** Bulk calls in flight at once, across containers. Default 16. */
  concurrency?: number;
  /** Called after every bulk call. */
  onProgress?(progress: LoadProgress): void;
  /** Stops the load before the next bulk call; calls in flight finish. */
  signal?: AbortSignal;
}

/** Records written so far, by container. */
export type SampleDataCounts = Record<keyof SampleData, number>;

export interface LoadProgress {
  /** Records written so far, all containers. */
  written: number;
  /** Records to write in all, when known (an array data set); undefined for a stream. */
  total: number | undefined;
  counts: Readonly<SampleDataCounts>;
}

type DataContainer = keyof SampleData & ContainerName;
// Derived from the store's SDK types so this package needs no direct @azure/cosmos dependency.
type BulkOperation = Extract<
  Parameters<ReturnType<Store['container']>['items']['executeBulkOperations']>[0][number],
  { operationType: 'Upsert' }
>;

/**
 * Upserts a data set into the store's containers through the SDK's bulk executor, so loading is
 * idempotent. `data` is either a whole data set or a stream of customers (`iterateCustomerRecords`);
 * for a stream, the fixed product catalogue is loaded too and memory stays bounded by
 * batchSize × concurrency. Resolves with the counts written; rejects on the first failed upsert.
 */
export async function loadSampleData(
  store: Store,
  data: SampleData | Iterable<CustomerRecords>,
  options: LoadSampleDataOptions = {},
): Promise<SampleDataCounts> {
  const batchSize = positiveInteger(options.batchSize ?? 1000, 'batchSize');
  const concurrency = positiveInteger(options.concurrency ?? 16, 'concurrency');
  const counts: SampleDataCounts = { customers: 0, accounts: 0, opportunities: 0, orders: 0, products: 0, cases: 0 };
  const total = isIterable(data) ? undefined : Object.values(data).reduce((sum, records) => sum + records.length, 0);
  const buffers = new Map<DataContainer, BulkOperation[]>();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let written = 0;

  const dispatch = async (name: DataContainer, operations: BulkOperation[]): Promise<void> => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
    options.signal?.throwIfAborted();
    const call: Promise<void> = writeBulk(store, name, operations, options.signal)
      .then(
        () => {
          counts[name] += operations.length;
          written += operations.length;
          options.onProgress?.({ written, total, counts: { ...counts } });
        },
        (error: unknown) => {
          failure ??= error;
        },
      )
      .finally(() => inFlight.delete(call));
    inFlight.add(call);
  };

  const add = async (name: DataContainer, records: readonly object[]): Promise<void> => {
    const key = containerDefinitions[name].partitionKey.slice(1);
    let buffer = buffers.get(name) ?? [];
    for (const record of records) {
      const partitionKey = (record as Record<string, unknown>)[key];
      if (typeof partitionKey !== 'string') {
        const id = String((record as { id?: unknown }).id);
        throw new Error(`Record "${id}" for container "${name}" has no string partition key "${key}"`);
      }
      buffer.push({ operationType: 'Upsert', partitionKey, resourceBody: record as BulkOperation['resourceBody'] });
      if (buffer.length >= batchSize) {
        await dispatch(name, buffer);
        buffer = [];
      }
    }
    buffers.set(name, buffer);
  };

  try {
    if (isIterable(data)) {
      await add('products', productCatalogue);
      for (const records of data) {
        await add('customers', [records.customer]);
        await add('accounts', records.accounts);
        await add('opportunities', records.opportunities);
        await add('orders', records.orders);
        await add('cases', records.cases);
      }
    } else {
      for (const name of Object.keys(counts) as DataContainer[]) await add(name, data[name]);
    }
    for (const [name, buffer] of buffers) if (buffer.length > 0) await dispatch(name, buffer);
  } finally {
    // Never leave bulk calls running behind the caller's back, even when we stop early.
    await Promise.all(inFlight);
  }
  if (failure !== undefined) throw failure;
  return counts;
}

async function writeBulk(
  store: Store,
  name: DataContainer,
  operations: BulkOperation[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const results = await store
    .container(name)
    .items.executeBulkOperations(operations, signal ? { abortSignal: signal } : undefined);
  const failed = results.filter((r) => r.error !== undefined || (r.response?.statusCode ?? 0) >= 400);
  if (failed.length > 0) {
    const first = failed[0]!;
    const status = first.error?.code ?? first.response?.statusCode;
    const id = (first.operationInput as Partial<BulkOperation>).resourceBody?.id;
    throw new Error(
      `${failed.length} of ${operations.length} upserts into "${name}" failed; first: ${id} (${status}) ${first.error?.message ?? ''}`.trim(),
    );
  }
}

function isIterable(data: SampleData | Iterable<CustomerRecords>): data is Iterable<CustomerRecords> {
  return typeof (data as Partial<Iterable<CustomerRecords>>)[Symbol.iterator] === 'function';
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

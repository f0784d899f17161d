import { isNetworkError } from '@mcp-broker/resilience';
import type { ContainerName, Store } from '@mcp-broker/store';
import { type BatchSource, BatchSourceError, type SourcePage, type SourceRecord } from './batch-source.ts';

export interface CosmosQuerySourceOptions {
  store: Store;
  container: string;
  query: string;
  parameters: Record<string, unknown>;
}

/** Cosmos answers that a later try may get past: throttled, timed out, unavailable. */
const TRANSIENT_STATUS = new Set([408, 410, 429, 449, 500, 502, 503]);

/**
 * A Cosmos DB SQL query over a container of the store, a page at a time; the cursor is the SDK's
 * continuation token, which can be read again. System properties (`_rid`, `_etag`…) are left out of
 * the records.
 */
export class CosmosQuerySource implements BatchSource {
  readonly kind = 'cosmos-query';
  readonly #o: CosmosQuerySourceOptions;

  constructor(options: CosmosQuerySourceOptions) {
    this.#o = options;
  }

  async readPage(cursor: string | undefined, pageSize: number): Promise<SourcePage> {
    let container: ReturnType<Store['container']>;
    try {
      container = this.#o.store.container(this.#o.container as ContainerName);
    } catch {
      throw new BatchSourceError('BATCH_SOURCE_FAILED', `The store has no container "${this.#o.container}".`, false);
    }
    try {
      const page = await container.items
        .query<SourceRecord>(
          {
            query: this.#o.query,
            parameters: Object.entries(this.#o.parameters).map(([name, value]) => ({
              name,
              value: value as never,
            })),
          },
          { maxItemCount: pageSize, ...(cursor ? { continuationToken: cursor } : {}) },
        )
        .fetchNext();
      return {
        records: page.resources.map(withoutSystemProperties),
        ...(page.continuationToken && page.hasMoreResults ? { next: page.continuationToken } : {}),
      };
    } catch (error) {
      const status = (error as { code?: unknown }).code;
      const message = (error as Error).message ?? String(error);
      const transient = isNetworkError(error) || (typeof status === 'number' && TRANSIENT_STATUS.has(status));
      throw new BatchSourceError(
        'BATCH_SOURCE_FAILED',
        `Cosmos DB query failed: ${message.slice(0, 1000)}`,
        transient,
        {
          cause: error,
        },
      );
    }
  }
}

function withoutSystemProperties(item: SourceRecord): SourceRecord {
  const out: SourceRecord = {};
  for (const [k, v] of Object.entries(item)) if (!k.startsWith('_')) out[k] = v;
  return out;
}

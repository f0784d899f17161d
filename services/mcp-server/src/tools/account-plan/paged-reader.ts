import type { ContainerName } from '@mcp-broker/store';
import { forEachPage } from '../../data/partition-scan.ts';
import type { ToolContext } from '../tool-definition.ts';

/** One query of the plan: its rows, and a count of them so progress has a total. */
export interface PagedRead {
  container: ContainerName;
  label: string;
  query: string;
  countQuery: string;
  parameters: { name: string; value: string }[];
}

/**
 * Reads queries of one partition page by page: counts first (so progress has a total), then each
 * query with `maxItemCount`, handing every page to its consumer and reporting progress after it.
 * The signal is checked before and after every page; an abort throws its reason.
 */
export class PagedReader {
  pagesRead = 0;
  recordsRead = 0;
  readonly #context: ToolContext;
  readonly #partitionKey: string;
  readonly #pageSize: number;
  /** Estimated pages still to read, per query label. */
  readonly #remaining = new Map<string, number>();

  constructor(context: ToolContext, partitionKey: string, pageSize: number) {
    this.#context = context;
    this.#partitionKey = partitionKey;
    this.#pageSize = pageSize;
  }

  async count(reads: PagedRead[]): Promise<void> {
    const { store, signal } = this.#context;
    const counts = await Promise.all(
      reads.map(async (read) => {
        const { resources } = await store
          .container(read.container)
          .items.query<number>(
            { query: read.countQuery, parameters: read.parameters },
            { partitionKey: this.#partitionKey, abortSignal: signal },
          )
          .fetchAll();
        return resources[0] ?? 0;
      }),
    );
    // An empty result is still one (empty) page.
    for (const [i, read] of reads.entries()) {
      this.#remaining.set(read.label, Math.max(1, Math.ceil(counts[i]! / this.#pageSize)));
    }
  }

  async read<Row>(read: PagedRead, consume: (rows: Row[]) => void): Promise<void> {
    const { store, signal } = this.#context;
    const iterator = store
      .container(read.container)
      .items.query<Row>(
        { query: read.query, parameters: read.parameters },
        { partitionKey: this.#partitionKey, maxItemCount: this.#pageSize, abortSignal: signal },
      );
    let rows = 0;
    await forEachPage(iterator, signal, async (resources) => {
      consume(resources);
      rows += resources.length;
      this.pagesRead += 1;
      this.recordsRead += resources.length;
      // Real Cosmos DB may return fewer rows than maxItemCount, so the estimate only ever grows.
      const left = Math.max(0, (this.#remaining.get(read.label) ?? 1) - 1);
      this.#remaining.set(read.label, iterator.hasMoreResults() ? Math.max(1, left) : 0);
      const remaining = [...this.#remaining.values()].reduce((sum, n) => sum + n, 0);
      await this.#context.progress({
        progress: this.pagesRead,
        // + 1 for the final aggregation step.
        total: this.pagesRead + remaining + 1,
        message: `Read ${rows} ${read.label} (${this.recordsRead} records, ${this.pagesRead} pages)`,
      });
    });
  }
}

import { classifySalesforceError, type OrgConnection } from '@mcp-broker/salesforce';
import { type BatchSource, BatchSourceError, type SourcePage, type SourceRecord } from './batch-source.ts';
import { BULK_CURSOR, BulkQuery, type BulkQueryOptions } from './salesforce-bulk-query.ts';

export interface SalesforceSoqlSourceOptions {
  org: OrgConnection;
  query: string;
  /** Above this many records (the first REST batch's totalSize), select with a Bulk API 2.0 query job. */
  bulkAbove?: number;
  /** The bulk job's settings (tests). */
  bulk?: Omit<BulkQueryOptions, 'org'>;
}

interface QueryResult {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: SourceRecord[];
}

/** Salesforce's bounds on a REST query batch (`Sforce-Query-Options: batchSize`). */
const MIN_BATCH = 200;
const MAX_BATCH = 2000;

/**
 * A SOQL query through the org's connection (jsforce, with its re-login), one REST query batch
 * per page: the first page runs the query, each later one follows the `nextRecordsUrl` that is
 * the cursor. Only one batch is held at a time, so memory stays flat whatever the record count.
 * Salesforce's errors pass through as `SALESFORCE_<code>` with its message (`MALFORMED_QUERY`,
 * `INVALID_FIELD`); a locator that expired (`INVALID_QUERY_LOCATOR`, 15 idle minutes) is marked
 * `restart`: the run selects again from the first page, its records already handed in being
 * duplicates of their calls. With `bulkAbove`, a selection larger than that is read from a Bulk
 * API 2.0 query job (`BulkQuery`) instead.
 */
export class SalesforceSoqlSource implements BatchSource {
  readonly kind = 'salesforce-soql';
  readonly #o: SalesforceSoqlSourceOptions;
  readonly #bulk: BulkQuery;

  constructor(options: SalesforceSoqlSourceOptions) {
    this.#o = options;
    this.#bulk = new BulkQuery({ org: options.org, ...options.bulk });
  }

  async readPage(cursor: string | undefined, pageSize: number): Promise<SourcePage> {
    if (cursor?.startsWith(BULK_CURSOR)) return this.#bulk.page(cursor, pageSize);
    const batchSize = Math.min(MAX_BATCH, Math.max(MIN_BATCH, pageSize));
    let result: QueryResult;
    try {
      result = await this.#o.org.withSession((conn) =>
        conn.request<QueryResult>({
          method: 'GET',
          url: cursor ?? `/services/data/v${conn.version}/query?q=${encodeURIComponent(this.#o.query)}`,
          headers: { 'Sforce-Query-Options': `batchSize=${batchSize}` },
        }),
      );
    } catch (error) {
      const failure = classifySalesforceError(error);
      throw new BatchSourceError(failure.code, failure.message, failure.kind === 'transient', {
        cause: error,
        restart: cursor !== undefined && failure.code === 'SALESFORCE_INVALID_QUERY_LOCATOR',
      });
    }
    // A large selection is read from a Bulk API 2.0 job instead (fewer API calls, the org's bulk
    // limits); the REST batch read to learn its size is not handed in.
    if (cursor === undefined && this.#o.bulkAbove !== undefined && result.totalSize > this.#o.bulkAbove) {
      return this.#bulk.page(await this.#bulk.start(this.#o.query), pageSize);
    }
    return {
      records: result.records.map(withoutAttributes),
      ...(!result.done && result.nextRecordsUrl ? { next: result.nextRecordsUrl } : {}),
    };
  }
}

function withoutAttributes(record: SourceRecord): SourceRecord {
  const { attributes: _attributes, ...fields } = record;
  return fields;
}

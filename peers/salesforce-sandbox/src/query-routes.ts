/**
 * REST query, `GET /services/data/vXX.X/query?q=<SOQL>`, and its continuation,
 * `GET /services/data/vXX.X/query/<locator>-<offset>`, as Salesforce pages them: at most the batch
 * size per answer (`Sforce-Query-Options: batchSize=n`, 200–2000, default 2000), `done: false`
 * with a `nextRecordsUrl` while more remain. The result is fixed when the query runs (a cursor, as
 * Salesforce's is): records saved later do not appear in its pages. A locator not used for 15
 * minutes (by the sandbox's clock) expires and answers 400 `INVALID_QUERY_LOCATOR`, as one does in
 * an org; so does a locator that was never issued.
 */

import { fromFailure, methodNotAllowed, type RestContext, type RestResult, type RestServices } from './rest-context.ts';
import { failure, sfError } from './salesforce-errors.ts';
import { parseSoql, runSoql } from './soql-query.ts';

interface Cursor {
  records: Record<string, unknown>[];
  batchSize: number;
  lastUsed: number;
}

export interface QueryLocatorsOptions {
  now: () => Date;
  /** Idle time after which a locator expires. Default 15 minutes, as in an org. */
  ttlMs?: number;
}

const DEFAULT_BATCH = 2000;

function batchSizeOf(header: string | string[] | undefined): number {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const match = /batchSize\s*=\s*(\d+)/i.exec(text);
  if (!match) return DEFAULT_BATCH;
  return Math.min(DEFAULT_BATCH, Math.max(200, Number(match[1])));
}

const invalidLocator = () => fromFailure(failure(400, sfError('INVALID_QUERY_LOCATOR', 'invalid query locator')));

/** The query cursors the org holds, by locator id. */
export class QueryLocators {
  readonly #now: () => Date;
  readonly #ttlMs: number;
  readonly #cursors = new Map<string, Cursor>();
  #issued = 0;

  constructor(options: QueryLocatorsOptions) {
    this.#now = options.now;
    this.#ttlMs = options.ttlMs ?? 15 * 60_000;
  }

  handle(services: RestServices, context: RestContext, queryOptions: string | string[] | undefined): RestResult {
    if (context.method !== 'GET') return methodNotAllowed(context.method, ['GET', 'HEAD']);
    this.#expire();
    const [, locator] = context.segments;
    if (locator !== undefined) return this.#more(context, locator);
    const soql = context.query.get('q');
    if (!soql || soql.trim() === '') {
      return fromFailure(failure(400, sfError('MALFORMED_QUERY', 'A query string has to be specified')));
    }
    const parsed = parseSoql(soql, services.schema, this.#now());
    if ('errors' in parsed) return fromFailure(parsed);
    const fields = parsed.fields;
    const records = runSoql(parsed, services.store.records(parsed.type)).map((record) => {
      const row: Record<string, unknown> = {
        attributes: {
          type: parsed.type.name,
          url: `/services/data/v${context.apiVersion}/sobjects/${parsed.type.name}/${record.Id}`,
        },
      };
      for (const field of fields) row[field] = record[field] ?? null;
      return row;
    });
    const batchSize = batchSizeOf(queryOptions);
    if (records.length <= batchSize) return { status: 200, body: { totalSize: records.length, done: true, records } };
    this.#issued += 1;
    const id = `01gSB${String(this.#issued).padStart(10, '0')}`;
    this.#cursors.set(id, { records, batchSize, lastUsed: this.#now().getTime() });
    return this.#page(context, id, 0);
  }

  #more(context: RestContext, locator: string): RestResult {
    const match = /^(01g[A-Za-z0-9]{12})-(\d+)$/.exec(locator);
    if (!match) return invalidLocator();
    const cursor = this.#cursors.get(match[1] as string);
    if (!cursor) return invalidLocator();
    cursor.lastUsed = this.#now().getTime();
    return this.#page(context, match[1] as string, Number(match[2]));
  }

  #page(context: RestContext, id: string, offset: number): RestResult {
    const cursor = this.#cursors.get(id) as Cursor;
    if (offset > cursor.records.length) return invalidLocator();
    const records = cursor.records.slice(offset, offset + cursor.batchSize);
    const next = offset + records.length;
    const done = next >= cursor.records.length;
    return {
      status: 200,
      body: {
        totalSize: cursor.records.length,
        done,
        ...(done ? {} : { nextRecordsUrl: `/services/data/v${context.apiVersion}/query/${id}-${next}` }),
        records,
      },
    };
  }

  #expire(): void {
    const now = this.#now().getTime();
    for (const [id, cursor] of this.#cursors) if (now - cursor.lastUsed > this.#ttlMs) this.#cursors.delete(id);
  }
}

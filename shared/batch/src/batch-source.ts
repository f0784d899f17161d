/** One record from a source: a plain object (a SOQL row, a Cosmos item). */
export type SourceRecord = Record<string, unknown>;

/** A page of records and the cursor of the next one (absent: this was the last page). */
export interface SourcePage {
  records: SourceRecord[];
  next?: string;
}

/**
 * Where a run selects its records. A cursor is opaque to the engine, which only stores it on the
 * run record (the checkpoint) and hands it back; `undefined` asks for the first page. A source
 * must be able to read the same cursor again (a resumed run re-reads the page it was on), and must
 * not hold more than one page in memory.
 *
 * Adding a source (a Databricks SQL statement, say) is one module implementing this, plus its
 * schema in `schedules-config.ts` and a case in `buildBatchSource`.
 */
export interface BatchSource {
  readonly kind: string;
  readPage(cursor: string | undefined, pageSize: number, signal?: AbortSignal): Promise<SourcePage>;
}

/**
 * A source that could not give a page. `transient` ones are retried (with backoff, then by the
 * run job's attempts, from the checkpoint); a final one ends the selection and fails the run with
 * the source's own code and message (`SALESFORCE_MALFORMED_QUERY: unexpected token: …`).
 */
export class BatchSourceError extends Error {
  override readonly name = 'BatchSourceError';
  readonly code: string;
  readonly transient: boolean;
  /** The cursor can no longer be read (an expired query locator): select again from the first page. */
  readonly restart: boolean;
  constructor(code: string, message: string, transient: boolean, options: { cause?: unknown; restart?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.transient = transient;
    this.restart = options.restart ?? false;
  }
}

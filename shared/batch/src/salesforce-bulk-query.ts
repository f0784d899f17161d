import { Backoff } from '@mcp-broker/resilience';
import { classifySalesforceError, type OrgConnection } from '@mcp-broker/salesforce';
import { parse } from 'csv-parse/sync';
import { BatchSourceError, type SourcePage, type SourceRecord } from './batch-source.ts';
import { abortableSleep } from './call-pacer.ts';

interface JobInfo {
  id: string;
  state: 'UploadComplete' | 'InProgress' | 'Aborted' | 'JobComplete' | 'Failed';
  errorMessage?: string;
}

/** The cursor of a page of a Bulk API 2.0 query job's results. */
export const BULK_CURSOR = 'bulk:';

export interface BulkQueryOptions {
  org: OrgConnection;
  /** Longest wait for the job to complete, in ms. Default 10 minutes. */
  completionTimeoutMs?: number;
  /** First delay between two looks at the job, in ms (doubles, up to 5 s). Default 250. */
  pollBaseMs?: number;
}

const failureOf = (error: unknown): BatchSourceError => {
  if (error instanceof BatchSourceError) return error;
  const failure = classifySalesforceError(error);
  return new BatchSourceError(failure.code, failure.message, failure.kind === 'transient', { cause: error });
};

/**
 * A Bulk API 2.0 query job through the org's connection: create it, wait until it is complete,
 * then read its CSV results a page at a time (`maxRecords`, `Sforce-Locator`). The cursor names
 * the job and the locator, so a resumed run reads the same page again. Bulk results are CSV: every
 * value is a string, and an empty field is null.
 */
export class BulkQuery {
  readonly #o: BulkQueryOptions;

  constructor(options: BulkQueryOptions) {
    this.#o = options;
  }

  /** Creates the job and waits for it; returns the first page's cursor. */
  async start(query: string): Promise<string> {
    let job: JobInfo;
    try {
      job = await this.#o.org.withSession((conn) =>
        conn.request<JobInfo>({
          method: 'POST',
          url: `/services/data/v${conn.version}/jobs/query`,
          body: JSON.stringify({ operation: 'query', query }),
          headers: { 'content-type': 'application/json' },
        }),
      );
    } catch (error) {
      throw failureOf(error);
    }
    const deadline = Date.now() + (this.#o.completionTimeoutMs ?? 10 * 60_000);
    const backoff = new Backoff({ baseDelayMs: this.#o.pollBaseMs ?? 250, maxDelayMs: 5_000 });
    while (job.state !== 'JobComplete') {
      if (job.state === 'Failed' || job.state === 'Aborted') {
        throw new BatchSourceError(
          'BATCH_SOURCE_FAILED',
          `Bulk API query job ${job.id} ${job.state.toLowerCase()}: ${job.errorMessage ?? 'no message'}`,
          false,
        );
      }
      if (Date.now() > deadline) {
        throw new BatchSourceError(
          'BATCH_SOURCE_FAILED',
          `Bulk API query job ${job.id} did not complete in time.`,
          true,
        );
      }
      await abortableSleep(backoff.next());
      const id = job.id;
      try {
        job = await this.#o.org.withSession((conn) =>
          conn.request<JobInfo>({ method: 'GET', url: `/services/data/v${conn.version}/jobs/query/${id}` }),
        );
      } catch (error) {
        throw failureOf(error);
      }
    }
    return `${BULK_CURSOR}${job.id}:`;
  }

  /** One page of results at `cursor` (from `start` or a previous page). */
  async page(cursor: string, pageSize: number): Promise<SourcePage> {
    const [jobId, locator] = cursor.slice(BULK_CURSOR.length).split(':');
    const result = await this.#o.org
      .withSession(async (conn) => {
        const query = new URLSearchParams({ maxRecords: String(pageSize), ...(locator ? { locator } : {}) });
        const response = await fetch(
          `${conn.instanceUrl}/services/data/v${conn.version}/jobs/query/${jobId}/results?${query}`,
          { headers: { authorization: `Bearer ${conn.accessToken}`, accept: 'text/csv' } },
        );
        const text = await response.text();
        if (!response.ok) {
          // The JSON error array, as jsforce would raise it, so the session retry and the classification apply.
          let body: { errorCode?: string; message?: string }[] = [];
          try {
            body = JSON.parse(text);
          } catch {}
          throw Object.assign(new Error(body[0]?.message ?? `HTTP ${response.status}`), {
            errorCode: body[0]?.errorCode ?? `ERROR_HTTP_${response.status}`,
            status: response.status,
          });
        }
        return { text, next: response.headers.get('sforce-locator') };
      })
      .catch((error: unknown) => {
        throw failureOf(error);
      });
    const rows = parse(result.text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    const records: SourceRecord[] = rows.map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === '' ? null : v])),
    );
    const more = result.next && result.next !== 'null';
    return { records, ...(more ? { next: `${BULK_CURSOR}${jobId}:${result.next}` } : {}) };
  }
}

import { Backoff } from '@mcp-broker/resilience';
import { classifySalesforceError, type OrgConnection } from '@mcp-broker/salesforce';
import { parse } from 'csv-parse/sync';
import { abortableSleep } from './call-pacer.ts';
import type { ChunkItem, ChunkOutcome, CollectionWriteBack } from './collection-write-back.ts';

interface IngestJobInfo {
  id: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'Aborted' | 'JobComplete' | 'Failed';
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
  errorMessage?: string;
}

export interface BulkIngestOptions {
  /** The mapping (shared with the SObject Collections write-back). */
  mapping: CollectionWriteBack;
  sobject: string;
  /** Longest wait for a job to complete, in ms. Default 30 minutes. */
  completionTimeoutMs?: number;
  /** First delay between two looks at the job, in ms (doubles, up to 10 s). Default 250. */
  pollBaseMs?: number;
}

/** Bulk 2.0 CSV: every value quoted; `#N/A` clears a field (an empty one would leave it as it is). */
const csvValue = (value: unknown) => (value === null ? '#N/A' : `"${String(value).replaceAll('"', '""')}"`);

/** A failed answer as jsforce would raise it (Salesforce's error array), so the session retry and the classification apply. */
async function httpError(response: Response): Promise<Error> {
  let body: { errorCode?: string; message?: string }[] = [];
  try {
    body = JSON.parse(await response.text());
  } catch {}
  return Object.assign(new Error(body[0]?.message ?? `HTTP ${response.status}`), {
    errorCode: body[0]?.errorCode ?? `ERROR_HTTP_${response.status}`,
    status: response.status,
  });
}

/** A whole-job failure, classified as the Collections write-back classifies a chunk's. */
const failureOf = (error: unknown) => classifySalesforceError(error);

/**
 * Writes a slice of a run's outcomes with one Bulk API 2.0 ingest job: `update` by Id, or with the
 * mapping's `externalIdField` `upsert` by that field (`externalIdFieldName`; Salesforce creates a
 * record where none matches, updates the one that does, and refuses a row whose value several
 * records share, `DUPLICATE_EXTERNAL_ID`). Open the
 * job, upload the CSV, close it, wait until it completes, then read `failedResults` for the
 * records Salesforce refused (each with its code and message; the others are saved). For runs
 * above the write-back's `bulkAbove`, where 200 records a request would spend too many API calls.
 * A job that fails as a whole throws the classified error (a transient one is retried by the run
 * job from its checkpoint, without calling any tool again).
 */
export class BulkIngestWriteBack {
  readonly #o: BulkIngestOptions;

  constructor(options: BulkIngestOptions) {
    this.#o = options;
  }

  async write(org: OrgConnection, items: readonly ChunkItem[]): Promise<ChunkOutcome> {
    const { outcome, records, sent } = await this.#o.mapping.prepare(items);
    if (records.length === 0) return outcome;
    const externalId = this.#o.mapping.externalIdField;
    // The key column: Id for an update, the external id field for an upsert (prepare put the value there).
    const key = externalId ?? 'id';
    const columns = [...new Set(records.flatMap((r) => Object.keys(r).filter((k) => k !== 'attributes' && k !== key)))];
    const lines = [
      [externalId ?? 'Id', ...columns].join(','),
      ...records.map((r) => [csvValue(r[key]), ...columns.map((c) => (c in r ? csvValue(r[c]) : ''))].join(',')),
    ];
    // Key value → the source records sent with it, in order: two outcomes may name one target
    // (both rows then fail, DUPLICATE_VALUE), and each failed row must go back to its own record.
    const byTarget = new Map<string, string[]>();
    records.forEach((r, i) => {
      const queue = byTarget.get(String(r[key])) ?? [];
      queue.push(sent[i] as string);
      byTarget.set(String(r[key]), queue);
    });
    try {
      await org.withSession(async (conn) => {
        const base = `/services/data/v${conn.version}/jobs/ingest`;
        // A fresh headers object per request: jsforce writes the content-length into the one it is given.
        const json = () => ({ 'content-type': 'application/json' });
        let job = await conn.request<IngestJobInfo>({
          method: 'POST',
          url: base,
          body: JSON.stringify({
            object: this.#o.sobject,
            ...(externalId === undefined
              ? { operation: 'update' }
              : { operation: 'upsert', externalIdFieldName: externalId }),
            contentType: 'CSV',
            lineEnding: 'LF',
          }),
          headers: json(),
        });
        // CSV in and out goes through fetch (jsforce's request is made for JSON bodies and answers).
        const upload = await fetch(`${conn.instanceUrl}${base}/${job.id}/batches`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${conn.accessToken}`, 'content-type': 'text/csv' },
          body: `${lines.join('\n')}\n`,
        });
        if (!upload.ok) throw await httpError(upload);
        job = await conn.request<IngestJobInfo>({
          method: 'PATCH',
          url: `${base}/${job.id}`,
          body: JSON.stringify({ state: 'UploadComplete' }),
          headers: json(),
        });
        const deadline = Date.now() + (this.#o.completionTimeoutMs ?? 30 * 60_000);
        const backoff = new Backoff({ baseDelayMs: this.#o.pollBaseMs ?? 250, maxDelayMs: 10_000 });
        while (job.state !== 'JobComplete') {
          if (job.state === 'Failed' || job.state === 'Aborted') {
            throw Object.assign(
              new Error(
                `Bulk API ingest job ${job.id} ${job.state.toLowerCase()}: ${job.errorMessage ?? 'no message'}`,
              ),
              {
                errorCode: 'BULK_JOB_FAILED',
              },
            );
          }
          if (Date.now() > deadline)
            throw Object.assign(new Error(`Bulk API ingest job ${job.id} did not complete in time.`), { status: 504 });
          await abortableSleep(backoff.next());
          job = await conn.request<IngestJobInfo>({ method: 'GET', url: `${base}/${job.id}` });
        }
        const response = await fetch(`${conn.instanceUrl}${base}/${job.id}/failedResults/`, {
          headers: { authorization: `Bearer ${conn.accessToken}`, accept: 'text/csv' },
        });
        if (!response.ok) throw await httpError(response);
        const failed = parse(await response.text(), { columns: true, skip_empty_lines: true }) as Record<
          string,
          string
        >[];
        for (const row of failed) {
          // sf__Error is `<CODE>:<message>:<fields> --`.
          const match = /^([A-Z_]+):(.*?)(?::([^:]*))? --$/s.exec(row.sf__Error ?? '');
          const code = `SALESFORCE_${match?.[1] ?? 'UNKNOWN'}`;
          const fields = match?.[3] ? ` (fields: ${match[3]})` : '';
          outcome.failures.push({
            recordId: byTarget.get(row[externalId ?? 'Id'] ?? row.sf__Id ?? '')?.shift() ?? row.sf__Id ?? '(unknown)',
            code,
            message: `${match?.[2] ?? row.sf__Error ?? 'refused'}${fields}`.slice(0, 1000),
          });
        }
        outcome.written += (job.numberRecordsProcessed ?? records.length) - failed.length;
      });
    } catch (error) {
      throw failureOf(error);
    }
    return outcome;
  }
}

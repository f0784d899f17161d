/**
 * Bulk API 2.0 ingest jobs, `/services/data/vXX.X/jobs/ingest`, for `update` (by `Id`) and
 * `upsert` (by `externalIdFieldName`), CSV only:
 *
 * - `POST jobs/ingest` `{ object, operation, externalIdFieldName?, contentType: 'CSV' }` opens a
 *   job (`state: Open`); an unknown object is 400 `INVALIDJOB`, as is another operation, an upsert
 *   without `externalIdFieldName`, or one naming a field that is neither an external id nor `Id`.
 * - `PUT jobs/ingest/<id>/batches` (`Content-Type: text/csv`) uploads the data, once (a second
 *   upload, or one to a job not open, is 400 `INVALIDJOB`).
 * - `PATCH jobs/ingest/<id>` `{ state: 'UploadComplete' }` closes it; the rows are then saved one
 *   by one with the REST save rules (a failing row does not stop the others); `Aborted` aborts it.
 *   A header naming a field the object does not have fails the whole job (`Failed`,
 *   `errorMessage: 'InvalidBatch : Field name not found : <name>'`), as Salesforce does.
 * - An upsert matches each row on the external id column: no record → created (`sf__Created`
 *   true), one → updated (false), several (a non-unique external id) → the row fails with
 *   `DUPLICATE_EXTERNAL_ID`; a row with no value there fails with `MISSING_ARGUMENT`, and rows of
 *   one 200-row chunk sharing a value all fail with `DUPLICATE_VALUE` (Salesforce saves a job 200
 *   rows at a time and refuses one value twice in a save).
 * - `GET jobs/ingest/<id>` answers `InProgress` on the first look after closing, `JobComplete`
 *   after, with `numberRecordsProcessed` and `numberRecordsFailed`.
 * - `GET jobs/ingest/<id>/successfulResults/` and `failedResults/` answer CSV: `sf__Id`,
 *   `sf__Created` or `sf__Error` (`<CODE>:<message>:<fields> --`), then the uploaded columns.
 *
 * In the CSV an empty field leaves the field as it is and `#N/A` clears it, as in an org.
 */

import type { ServerResponse } from 'node:http';
import { sendJson } from './http-helpers.ts';
import type { RestContext, RestServices } from './rest-context.ts';
import { failure, type RestFailure, sfError } from './salesforce-errors.ts';
import { formatDateTime } from './sobject-store.ts';

interface IngestJob {
  id: string;
  object: string;
  operation: 'update' | 'upsert';
  externalIdFieldName?: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Aborted' | 'Failed';
  /** Why a job `Failed`. */
  errorMessage?: string;
  csv?: string;
  polls: number;
  createdAt: Date;
  successes: string[][];
  failures: string[][];
  columns: string[];
}

const quote = (value: string) => `"${value.replaceAll('"', '""')}"`;

/** A CSV line split into fields (quoted fields may hold commas and doubled quotes). */
function splitCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** The org's Bulk API 2.0 ingest jobs. */
export class BulkIngestJobs {
  readonly #now: () => Date;
  readonly #jobs = new Map<string, IngestJob>();
  #issued = 0;

  constructor(options: { now: () => Date }) {
    this.#now = options.now;
  }

  handle(
    services: RestServices,
    context: RestContext,
    response: ServerResponse,
    headers: Record<string, string>,
  ): void {
    const answer = this.#answer(services, context);
    if ('errors' in answer) sendJson(response, answer.status, answer.errors, headers);
    else if ('csv' in answer) {
      response.writeHead(200, {
        ...headers,
        'content-type': 'text/csv',
        'content-length': Buffer.byteLength(answer.csv).toString(),
      });
      response.end(answer.csv);
    } else sendJson(response, answer.status ?? 200, answer.json, headers);
  }

  #answer(
    services: RestServices,
    context: RestContext,
  ): RestFailure | { json: unknown; status?: number } | { csv: string } {
    const [, , id, sub] = context.segments;
    const invalid = (message: string) => failure(400, sfError('INVALIDJOB', message));
    if (id === undefined) {
      if (context.method !== 'POST') return failure(405, sfError('METHOD_NOT_ALLOWED', 'Allowed are POST'));
      const body = (context.body ?? {}) as { object?: unknown; operation?: unknown; externalIdFieldName?: unknown };
      const type = typeof body.object === 'string' ? services.schema.get(body.object) : undefined;
      if (!type || type.isEvent) return invalid(`Unable to find object: ${String(body.object)}`);
      if (body.operation !== 'update' && body.operation !== 'upsert')
        return invalid(`Invalid operation: ${String(body.operation)}`);
      const externalId = body.externalIdFieldName;
      const byId = typeof externalId === 'string' && externalId.toLowerCase() === 'id';
      if (body.operation === 'upsert') {
        if (typeof externalId !== 'string' || externalId === '') {
          return invalid(
            `InvalidJob : External ID was blank for ${type.name}. An External ID must be specified for upsert.`,
          );
        }
        if (!byId && !type.field(externalId)?.externalId) {
          return invalid(
            `InvalidJob : Field name provided, ${externalId} does not match an External ID, Salesforce Id, or indexed field for ${type.name}`,
          );
        }
      }
      this.#issued += 1;
      const job: IngestJob = {
        id: `750SI${String(this.#issued).padStart(10, '0')}`,
        object: type.name,
        operation: body.operation,
        ...(body.operation === 'upsert'
          ? { externalIdFieldName: byId ? 'Id' : (type.fieldName(externalId as string) as string) }
          : {}),
        state: 'Open',
        polls: 0,
        createdAt: this.#now(),
        successes: [],
        failures: [],
        columns: [],
      };
      this.#jobs.set(job.id, job);
      return { json: this.#info(job) };
    }
    const job = this.#jobs.get(id);
    if (!job) return failure(404, sfError('NOT_FOUND', 'The requested resource does not exist'));
    if (sub === 'batches') {
      if (context.method !== 'PUT') return failure(405, sfError('METHOD_NOT_ALLOWED', 'Allowed are PUT'));
      if (job.state !== 'Open' || job.csv !== undefined)
        return invalid('The job is not open for uploads, or data was uploaded already.');
      job.csv = typeof context.body === 'string' ? context.body : '';
      return { json: undefined, status: 201 };
    }
    if (sub === 'successfulResults' || sub === 'failedResults') {
      if (job.state !== 'JobComplete') return invalid('The job is not complete.');
      const first = sub === 'successfulResults' ? ['sf__Id', 'sf__Created'] : ['sf__Id', 'sf__Error'];
      const rows = sub === 'successfulResults' ? job.successes : job.failures;
      return { csv: `${[[...first, ...job.columns], ...rows].map((r) => r.map(quote).join(',')).join('\n')}\n` };
    }
    if (sub !== undefined) return failure(404, sfError('NOT_FOUND', 'The requested resource does not exist'));
    if (context.method === 'PATCH') {
      const state = (context.body as { state?: unknown } | undefined)?.state;
      if (state === 'Aborted' && job.state === 'Open') job.state = 'Aborted';
      else if (state === 'UploadComplete' && job.state === 'Open' && job.csv !== undefined) {
        this.#process(services, job, context.session.userId);
        job.state = 'UploadComplete';
      } else return invalid(`Cannot move the job from ${job.state} to ${String(state)}.`);
      return { json: this.#info(job) };
    }
    if (job.state === 'UploadComplete') job.state = 'InProgress';
    else if (job.state === 'InProgress') job.state = job.errorMessage === undefined ? 'JobComplete' : 'Failed';
    return { json: this.#info(job) };
  }

  /** Saves every row with the REST rules; a failing row is recorded and does not stop the others. */
  #process(services: RestServices, job: IngestJob, userId: string): void {
    const type = services.schema.get(job.object);
    if (!type) return;
    const [header = [], ...rows] = splitCsv(job.csv ?? '');
    job.columns = header;
    const unknown = header.find((column) => column.toLowerCase() !== 'id' && type.fieldName(column) === undefined);
    if (unknown !== undefined) {
      job.errorMessage = `InvalidBatch : Field name not found : ${unknown}`;
      return;
    }
    const key = job.externalIdFieldName;
    const keyAt = key === undefined ? -1 : header.findIndex((c) => c.toLowerCase() === key.toLowerCase());
    const keyOf = (row: string[]) => (keyAt < 0 ? '' : (row[keyAt] ?? ''));
    rows.forEach((row, index) => {
      const fields: Record<string, unknown> = {};
      let id: string | undefined;
      header.forEach((column, i) => {
        const value = row[i] ?? '';
        if (column.toLowerCase() === 'id') id = value;
        else if (value !== '') fields[column] = value === '#N/A' ? null : value;
      });
      const fail = (code: string, message: string, fieldNames: string[] = []) =>
        job.failures.push([id ?? '', `${code}:${message}:${fieldNames.join(',')} --`, ...row]);
      const parsed = services.store.parse(type, fields, 'update');
      if (!parsed.ok) {
        const e = parsed.failure.errors[0];
        fail(e?.errorCode ?? 'UNKNOWN_EXCEPTION', e?.message ?? 'refused', e?.fields ?? []);
        return;
      }
      let outcome: ReturnType<typeof services.store.update>;
      if (key === 'Id') {
        outcome = id
          ? services.store.update(type, id, parsed.fields, userId)
          : services.store.create(type, parsed.fields, userId);
      } else if (key !== undefined) {
        const value = keyOf(row);
        if (value === '' || value === '#N/A') {
          fail('MISSING_ARGUMENT', `${key} not specified`, [key]);
          return;
        }
        const chunk = rows.slice(index - (index % 200), index - (index % 200) + 200);
        if (chunk.filter((other) => keyOf(other) === value).length > 1) {
          fail('DUPLICATE_VALUE', `Duplicate external id specified: ${value}`, [key]);
          return;
        }
        outcome = services.store.upsert(type, key, value, parsed.fields, userId);
      } else if (id) {
        outcome = services.store.update(type, id, parsed.fields, userId);
      } else {
        fail('MISSING_ARGUMENT', 'Id not specified in an update call');
        return;
      }
      if (outcome.ok) job.successes.push([outcome.id, String(outcome.created), ...row]);
      else fail(outcome.error.errorCode, outcome.error.message, outcome.error.fields ?? []);
    });
  }

  #info(job: IngestJob) {
    return {
      id: job.id,
      operation: job.operation,
      object: job.object,
      ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
      createdDate: formatDateTime(job.createdAt),
      state: job.state,
      ...(job.state === 'Failed' ? { errorMessage: job.errorMessage } : {}),
      contentType: 'CSV',
      lineEnding: 'LF',
      columnDelimiter: 'COMMA',
      numberRecordsProcessed: job.state === 'JobComplete' ? job.successes.length + job.failures.length : 0,
      numberRecordsFailed: job.state === 'JobComplete' ? job.failures.length : 0,
    };
  }
}

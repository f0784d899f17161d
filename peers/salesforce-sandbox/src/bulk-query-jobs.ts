/**
 * Bulk API 2.0 query jobs, `/services/data/vXX.X/jobs/query`, for the same SOQL subset as the REST
 * query (soql-query.ts):
 *
 * - `POST jobs/query` `{ operation: 'query', query }` creates a job (`state: UploadComplete`); a
 *   query that does not parse is refused at once with the REST query's error (400
 *   `MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`); an operation other than `query` or
 *   `queryAll` is 400 `INVALIDJOB`.
 * - `GET jobs/query/<id>` answers `InProgress` on the first look and `JobComplete` after, so a
 *   client has to poll as it must against an org.
 * - `GET jobs/query/<id>/results?maxRecords=n&locator=l` answers CSV (every value quoted, null as
 *   an empty field) with `Sforce-Locator` (the next page's locator, or `null` on the last) and
 *   `Sforce-NumberOfRecords`; before the job is complete it is 400 `API_ERROR`, an unknown job 404
 *   `NOT_FOUND`, an unknown locator 400 `INVALID_LOCATOR`.
 *
 * The result is fixed when the job is created, as the REST query's cursor is.
 */

import type { ServerResponse } from 'node:http';
import { sendJson } from './http-helpers.ts';
import type { RestContext, RestServices } from './rest-context.ts';
import { failure, type RestFailure, sfError } from './salesforce-errors.ts';
import { formatDateTime } from './sobject-store.ts';
import { parseSoql, runSoql } from './soql-query.ts';

interface Job {
  id: string;
  query: string;
  object: string;
  fields: string[];
  rows: unknown[][];
  polls: number;
  createdAt: Date;
}

const csvField = (value: unknown) =>
  value === null || value === undefined ? '' : `"${String(value).replaceAll('"', '""')}"`;

/** The org's Bulk API 2.0 query jobs. */
export class BulkQueryJobs {
  readonly #now: () => Date;
  readonly #jobs = new Map<string, Job>();
  #issued = 0;

  constructor(options: { now: () => Date }) {
    this.#now = options.now;
  }

  /** Answers a `jobs/query…` request (JSON, or CSV for results). */
  handle(
    services: RestServices,
    context: RestContext,
    response: ServerResponse,
    headers: Record<string, string>,
  ): void {
    const answer = this.#answer(services, context);
    if ('errors' in answer) {
      sendJson(response, answer.status, answer.errors, headers);
    } else if ('csv' in answer) {
      response.writeHead(200, {
        ...headers,
        'content-type': 'text/csv',
        'content-length': Buffer.byteLength(answer.csv).toString(),
        ...answer.headers,
      });
      response.end(answer.csv);
    } else {
      sendJson(response, 200, answer.json, headers);
    }
  }

  #answer(
    services: RestServices,
    context: RestContext,
  ): RestFailure | { json: unknown } | { csv: string; headers: Record<string, string> } {
    const [, , id, sub] = context.segments;
    if (id === undefined) {
      if (context.method !== 'POST') {
        return failure(
          405,
          sfError('METHOD_NOT_ALLOWED', `HTTP Method '${context.method}' not allowed. Allowed are POST`),
        );
      }
      return this.#create(services, context);
    }
    const job = this.#jobs.get(id);
    if (!job || (sub !== undefined && sub !== 'results')) {
      return failure(404, sfError('NOT_FOUND', 'The requested resource does not exist'));
    }
    if (sub === undefined) {
      job.polls += 1;
      return { json: this.#info(job, context.apiVersion) };
    }
    if (job.polls < 2) return failure(400, sfError('API_ERROR', 'Job is not in a valid state to retrieve results'));
    const offset = this.#offset(context.query.get('locator'));
    if (offset === undefined || offset > job.rows.length) {
      return failure(400, sfError('INVALID_LOCATOR', 'Invalid locator value'));
    }
    const max = Math.max(1, Number(context.query.get('maxRecords') ?? '') || 50_000);
    const rows = job.rows.slice(offset, offset + max);
    const next = offset + rows.length;
    const lines = [job.fields.map(csvField).join(','), ...rows.map((row) => row.map(csvField).join(','))];
    return {
      csv: `${lines.join('\n')}\n`,
      headers: {
        'sforce-locator': next < job.rows.length ? Buffer.from(String(next)).toString('base64') : 'null',
        'sforce-numberofrecords': String(rows.length),
      },
    };
  }

  #create(services: RestServices, context: RestContext): RestFailure | { json: unknown } {
    const body = (context.body ?? {}) as { operation?: unknown; query?: unknown };
    if (body.operation !== 'query' && body.operation !== 'queryAll') {
      return failure(400, sfError('INVALIDJOB', `Invalid operation: ${String(body.operation)}`));
    }
    if (typeof body.query !== 'string' || body.query.trim() === '') {
      return failure(400, sfError('MALFORMED_QUERY', 'A query string has to be specified'));
    }
    const parsed = parseSoql(body.query, services.schema, this.#now());
    if ('errors' in parsed) return parsed;
    this.#issued += 1;
    const job: Job = {
      id: `750SB${String(this.#issued).padStart(10, '0')}`,
      query: body.query,
      object: parsed.type.name,
      fields: parsed.fields,
      rows: runSoql(parsed, services.store.records(parsed.type)).map((record) =>
        parsed.fields.map((field) => record[field] ?? null),
      ),
      polls: 0,
      createdAt: this.#now(),
    };
    this.#jobs.set(job.id, job);
    return { json: { ...this.#info(job, context.apiVersion), state: 'UploadComplete' } };
  }

  #info(job: Job, apiVersion: string) {
    const complete = job.polls >= 2;
    return {
      id: job.id,
      operation: 'query',
      object: job.object,
      createdDate: formatDateTime(job.createdAt),
      state: complete ? 'JobComplete' : 'InProgress',
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion: Number(apiVersion),
      lineEnding: 'LF',
      columnDelimiter: 'COMMA',
      numberRecordsProcessed: complete ? job.rows.length : 0,
    };
  }

  #offset(locator: string | null): number | undefined {
    if (locator === null || locator === '') return 0;
    const decoded = Buffer.from(locator, 'base64').toString('utf8');
    return /^\d+$/.test(decoded) ? Number(decoded) : undefined;
  }
}

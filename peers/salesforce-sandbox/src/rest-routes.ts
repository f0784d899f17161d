/**
 * The REST API entry, `/services/data/vXX.X/...`, in the order Salesforce answers: the version
 * (404 past the org's), the session (401 `INVALID_SESSION_ID`), the org's API request limit
 * (403 `REQUEST_LIMIT_EXCEEDED`), the JSON body (400 `JSON_PARSER_ERROR`), then the resource.
 * Every answer carries `Sforce-Limit-Info: api-usage=<used>/<limit>`.
 */

import { randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BulkIngestJobs } from './bulk-ingest-jobs.ts';
import { BulkQueryJobs } from './bulk-query-jobs.ts';
import type { FaultInjector } from './fault-injection.ts';
import { readBody, sendJson } from './http-helpers.ts';
import { QueryLocators } from './query-routes.ts';
import { fromFailure, type RestContext, type RestResult, type RestServices } from './rest-context.ts';
import {
  failure,
  invalidSession,
  notFound,
  requestLimitExceeded,
  sfError,
  unknownException,
} from './salesforce-errors.ts';
import type { SessionStore } from './session-store.ts';
import { routeCollections } from './sobject-collections.ts';
import { routeSObjects } from './sobject-routes.ts';

export interface RestRoutesOptions extends RestServices {
  /** The newest API version the org serves; later versions answer 404. */
  apiVersion: string;
  sessions: SessionStore;
  faults: FaultInjector;
  /** The org's daily API request allocation, reported in `Sforce-Limit-Info`. */
  dailyApiRequests: number;
  /** The org's clock (query locators expire by it). Default the system clock. */
  now?: () => Date;
}

const OLDEST_VERSION = 31;

function route(services: RestServices, context: RestContext): RestResult {
  const [first, second] = context.segments;
  if (first === 'sobjects') return routeSObjects(services, context);
  if (first === 'composite' && second === 'sobjects') return routeCollections(services, context);
  return fromFailure(notFound());
}

export function buildRestRoutes(options: RestRoutesOptions) {
  let apiUsage = 0;
  const queries = new QueryLocators({ now: options.now ?? (() => new Date()) });
  const bulkQueries = new BulkQueryJobs({ now: options.now ?? (() => new Date()) });
  const bulkIngest = new BulkIngestJobs({ now: options.now ?? (() => new Date()) });

  return async function handleRest(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const send = (result: RestResult, headers: Record<string, string> = {}) =>
      sendJson(response, result.status, result.body, {
        'sforce-limit-info': `api-usage=${apiUsage}/${options.dailyApiRequests}`,
        ...headers,
      });

    const match = /^\/services\/data\/v(\d+\.\d)(?:\/(.*))?$/.exec(url.pathname);
    const version = match?.[1];
    const versionNumber = Number.parseFloat(version ?? '0');
    if (
      version === undefined ||
      versionNumber > Number.parseFloat(options.apiVersion) ||
      versionNumber < OLDEST_VERSION
    ) {
      send(fromFailure(notFound()));
      return;
    }
    const session = options.sessions.fromAuthorization(request.headers.authorization);
    if (!session) {
      send(fromFailure(invalidSession()), { 'www-authenticate': 'Token' });
      return;
    }
    apiUsage += 1;
    if (options.faults.takeRequestLimit()) {
      send(fromFailure(requestLimitExceeded()));
      return;
    }
    if (options.faults.takeServerError()) {
      send(fromFailure(unknownException(`${randomInt(1e9)}-${randomInt(1e5)} (${randomInt(2 ** 31)})`)));
      return;
    }
    const text = await readBody(request);
    // Bulk API 2.0 uploads are CSV: the body is handed over as text.
    const csv = String(request.headers['content-type'] ?? '').startsWith('text/csv');
    let body: unknown = csv ? text : undefined;
    if (text.trim() !== '' && !csv) {
      try {
        body = JSON.parse(text);
      } catch (error) {
        send(fromFailure(failure(400, sfError('JSON_PARSER_ERROR', (error as Error).message))));
        return;
      }
    }
    const segments = (match?.[2] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    const method = request.method === 'HEAD' ? 'GET' : (request.method ?? 'GET');
    const context = { method, segments, query: url.searchParams, body, apiVersion: version, session };
    if (segments[0] === 'jobs' && segments[1] === 'ingest') {
      bulkIngest.handle(options, context, response, {
        'sforce-limit-info': `api-usage=${apiUsage}/${options.dailyApiRequests}`,
      });
      return;
    }
    if (segments[0] === 'jobs' && segments[1] === 'query') {
      bulkQueries.handle(options, context, response, {
        'sforce-limit-info': `api-usage=${apiUsage}/${options.dailyApiRequests}`,
      });
      return;
    }
    if (segments[0] === 'query') {
      send(queries.handle(options, context, request.headers['sforce-query-options']));
      return;
    }
    send(route(options, context));
  };
}

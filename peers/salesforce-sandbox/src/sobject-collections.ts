/**
 * SObject Collections, `/services/data/vXX.X/composite/sobjects`: up to 200 records per request,
 * answered 200 with one SaveResult per record in request order (`{ id, success, errors }`, the
 * errors as `{ statusCode, message, fields }`). With `allOrNone: true` one failure rolls every
 * record back: the failed items keep their error, the others say `ALL_OR_NONE_OPERATION_ROLLED_BACK`,
 * and no platform event of the request is published.
 *
 * - `POST composite/sobjects` create; `PATCH composite/sobjects` update (each record has `id`);
 * - `PATCH composite/sobjects/<T>/<ExternalIdField>` upsert (results add `created`, API 46.0+);
 * - `DELETE composite/sobjects?ids=...&allOrNone=...`;
 * - `GET composite/sobjects/<T>?ids=...&fields=...` and `POST composite/sobjects/<T>` `{ ids, fields }`
 *   retrieve (null for an id not found).
 */

import {
  fromFailure,
  methodNotAllowed,
  type RestContext,
  type RestResult,
  type RestServices,
  reportsCreated,
} from './rest-context.ts';
import {
  failure,
  notFound,
  rolledBack,
  type SalesforceError,
  type SaveResultError,
  sfError,
  toSaveResultError,
} from './salesforce-errors.ts';
import { normaliseRecordId } from './salesforce-ids.ts';
import type { SObjectType } from './sobject-schema.ts';
import type { DmlOutcome } from './sobject-store.ts';

const MAX_RECORDS = 200;

interface Item {
  /** The record id to report (known for updates and deletes, or once created). */
  id?: string;
  outcome: DmlOutcome | { ok: false; error: SalesforceError };
}

interface CollectionBody {
  allOrNone: boolean;
  records: Record<string, unknown>[];
}

const badRequest = (errorCode: string, message: string): RestResult =>
  fromFailure(failure(400, sfError(errorCode, message)));

function readCollection(body: unknown): CollectionBody | RestResult {
  const value = (body ?? {}) as { allOrNone?: unknown; records?: unknown };
  if (!Array.isArray(value.records)) return badRequest('JSON_PARSER_ERROR', 'records is required');
  if (value.records.length > MAX_RECORDS) {
    return badRequest(
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_RECORDS} records into this call`,
    );
  }
  return { allOrNone: value.allOrNone === true, records: value.records as Record<string, unknown>[] };
}

function typeOf(services: RestServices, record: Record<string, unknown>): SObjectType | RestResult {
  const declared = (record.attributes as { type?: unknown } | undefined)?.type;
  if (typeof declared !== 'string') return badRequest('INVALID_TYPE', 'Must send a concrete entity type.');
  return services.schema.get(declared) ?? badRequest('INVALID_TYPE', `sObject type '${declared}' is not supported.`);
}

const isResult = (value: unknown): value is RestResult =>
  typeof value === 'object' && value !== null && 'status' in value && typeof value.status === 'number';

/** Runs the items' writes inside a savepoint and shapes the SaveResults. */
function commit(
  services: RestServices,
  allOrNone: boolean,
  writes: Array<() => Item>,
  options: { withCreated: boolean },
): RestResult {
  const restore = services.store.savepoint();
  const items = writes.map((write) => write());
  const failed = items.some((item) => !item.outcome.ok);
  const rollBack = allOrNone && failed;
  if (rollBack) restore();
  const results = items.map((item) => {
    const { outcome } = item;
    const id = outcome.ok ? outcome.id : item.id;
    const errors: SaveResultError[] = outcome.ok
      ? rollBack
        ? [rolledBack()]
        : []
      : [toSaveResultError(outcome.error)];
    const success = outcome.ok && !rollBack;
    const result: Record<string, unknown> = {};
    if (id !== undefined && !(rollBack && outcome.ok && outcome.created)) result.id = id;
    result.success = success;
    result.errors = errors;
    if (options.withCreated) result.created = success && outcome.ok ? outcome.created : false;
    return result;
  });
  if (!rollBack) {
    for (const { outcome } of items) if (outcome.ok && outcome.event) services.publish(outcome.event);
  }
  return { status: 200, body: results };
}

function create(services: RestServices, context: RestContext): RestResult {
  const body = readCollection(context.body);
  if (isResult(body)) return body;
  const writes: Array<() => Item> = [];
  for (const record of body.records) {
    const type = typeOf(services, record);
    if (isResult(type)) return type;
    const parsed = services.store.parse(type, record, 'create');
    if (!parsed.ok) return fromFailure(parsed.failure);
    writes.push(() => ({ outcome: services.store.create(type, parsed.fields, context.session.userId) }));
  }
  return commit(services, body.allOrNone, writes, { withCreated: false });
}

function update(services: RestServices, context: RestContext): RestResult {
  const body = readCollection(context.body);
  if (isResult(body)) return body;
  const writes: Array<() => Item> = [];
  for (const record of body.records) {
    const type = typeOf(services, record);
    if (isResult(type)) return type;
    const parsed = services.store.parse(type, record, 'update');
    if (!parsed.ok) return fromFailure(parsed.failure);
    const rawId = record.id ?? record.Id;
    writes.push(() => {
      if (typeof rawId !== 'string' || rawId === '') {
        return { outcome: { ok: false, error: sfError('MISSING_ARGUMENT', 'Id not specified in an update call', []) } };
      }
      const id = normaliseRecordId(rawId);
      if (id === undefined)
        return { id: rawId, outcome: { ok: false, error: sfError('MALFORMED_ID', `malformed id ${rawId}`, []) } };
      const outcome = services.store.update(type, id, parsed.fields, context.session.userId);
      if (!outcome.ok && outcome.error.errorCode === 'NOT_FOUND') {
        return {
          id,
          outcome: { ok: false, error: sfError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []) },
        };
      }
      return { id, outcome };
    });
  }
  return commit(services, body.allOrNone, writes, { withCreated: false });
}

function upsert(services: RestServices, context: RestContext, type: SObjectType, rawField: string): RestResult {
  const field = type.fieldName(rawField);
  if (field === undefined || !type.definition.fields[field]?.externalId) {
    return fromFailure(
      failure(404, sfError('NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${rawField}`)),
    );
  }
  const body = readCollection(context.body);
  if (isResult(body)) return body;
  const writes: Array<() => Item> = [];
  const parsedRecords: Record<string, unknown>[] = [];
  for (const record of body.records) {
    const recordType = typeOf(services, record);
    if (isResult(recordType)) return recordType;
    if (recordType !== type)
      return badRequest('INVALID_TYPE', `Record type ${recordType.name} does not match ${type.name}`);
    const parsed = services.store.parse(type, record, 'update');
    if (!parsed.ok) return fromFailure(parsed.failure);
    parsedRecords.push(parsed.fields);
  }
  // Salesforce refuses a key given twice in one save, on every record carrying it.
  const seen = new Map<unknown, number>();
  for (const fields of parsedRecords) seen.set(fields[field], (seen.get(fields[field]) ?? 0) + 1);
  for (const { [field]: value, ...fields } of parsedRecords) {
    writes.push(() => {
      if (typeof value !== 'string' || value === '') {
        return { outcome: { ok: false, error: sfError('MISSING_ARGUMENT', `${field} not specified`, []) } };
      }
      if ((seen.get(value) ?? 0) > 1) {
        const error = sfError('DUPLICATE_VALUE', `Duplicate external id specified: ${value}`, [field]);
        return { outcome: { ok: false, error } };
      }
      return { outcome: services.store.upsert(type, field, value, fields, context.session.userId) };
    });
  }
  return commit(services, body.allOrNone, writes, { withCreated: reportsCreated(context.apiVersion) });
}

function destroy(services: RestServices, context: RestContext): RestResult {
  const ids = (context.query.get('ids') ?? '').split(',').filter(Boolean);
  if (ids.length > MAX_RECORDS) {
    return badRequest(
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_RECORDS} records into this call`,
    );
  }
  const writes = ids.map((rawId) => (): Item => {
    const id = normaliseRecordId(rawId);
    const type = id === undefined ? undefined : services.schema.byKeyPrefix(id);
    if (id === undefined || type === undefined) {
      return { id: rawId, outcome: { ok: false, error: sfError('MALFORMED_ID', `malformed id ${rawId}`, []) } };
    }
    const outcome = services.store.delete(type, id);
    if (!outcome.ok && outcome.error.errorCode === 'NOT_FOUND') {
      return {
        id,
        outcome: { ok: false, error: sfError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []) },
      };
    }
    return { id, outcome };
  });
  return commit(services, context.query.get('allOrNone') === 'true', writes, { withCreated: false });
}

function retrieve(services: RestServices, context: RestContext, type: SObjectType): RestResult {
  const source =
    context.method === 'GET'
      ? { ids: context.query.get('ids')?.split(','), fields: context.query.get('fields')?.split(',') }
      : ((context.body ?? {}) as { ids?: string[]; fields?: string[] });
  const ids = (source.ids ?? []).filter(Boolean);
  if (ids.length > 2000)
    return badRequest('EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 2000 records into this call');
  const fields = source.fields?.filter(Boolean);
  const records = ids.map((rawId) => {
    const id = normaliseRecordId(rawId);
    const record = id === undefined ? undefined : services.store.get(type, id);
    return record === undefined || record === 'deleted'
      ? null
      : services.store.view(type, record, context.apiVersion, fields);
  });
  return { status: 200, body: records };
}

/** Routes `composite/sobjects...`; `segments` starts with `composite`, `sobjects`. */
export function routeCollections(services: RestServices, context: RestContext): RestResult {
  const [, , typeName, field, ...rest] = context.segments;
  if (rest.length > 0) return fromFailure(notFound());
  if (typeName === undefined) {
    if (context.method === 'POST') return create(services, context);
    if (context.method === 'PATCH') return update(services, context);
    if (context.method === 'DELETE') return destroy(services, context);
    return methodNotAllowed(context.method, ['POST', 'PATCH', 'DELETE']);
  }
  const type = services.schema.get(typeName);
  if (type === undefined) return fromFailure(notFound());
  if (field === undefined) {
    if (context.method === 'GET' || context.method === 'POST') return retrieve(services, context, type);
    return methodNotAllowed(context.method, ['GET', 'POST']);
  }
  if (context.method !== 'PATCH') return methodNotAllowed(context.method, ['PATCH']);
  return upsert(services, context, type, field);
}

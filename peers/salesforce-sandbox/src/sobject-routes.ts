/**
 * Single-record REST resources under `/services/data/vXX.X/sobjects/`:
 *
 * - `GET sobjects` (describe global, minimal), `GET sobjects/<T>/describe` (the object's name and
 *   flags, and `fields[]` with `name`, `type`, `length`, `nillable`, `createable`, `updateable`,
 *   `externalId` and `idLookup`; an unknown object 404 `NOT_FOUND`);
 * - `POST sobjects/<T>` create (201 `{ id, success, errors }`; a platform event is published and
 *   answers `OPERATION_ENQUEUED` with its EventUuid);
 * - `GET|PATCH|DELETE sobjects/<T>/<id>` (PATCH and DELETE answer 204);
 * - `GET|PATCH|DELETE sobjects/<T>/<ExternalIdField>/<value>`, PATCH being the upsert: 201 when
 *   created, and when updated 200 with `created: false` from API 46.0 (204 before); a value several
 *   records share (a non-unique external id) answers 300 Multiple Choices with their URLs.
 */

import {
  fromFailure,
  methodNotAllowed,
  type RestContext,
  type RestResult,
  type RestServices,
  reportsCreated,
} from './rest-context.ts';
import { failure, notFound, sfError } from './salesforce-errors.ts';
import { normaliseRecordId } from './salesforce-ids.ts';
import { type SObjectType, SYSTEM_FIELDS } from './sobject-schema.ts';
import type { DmlOutcome } from './sobject-store.ts';

const externalIdNotFound = (field: string): RestResult =>
  fromFailure(
    failure(404, sfError('NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`)),
  );

function dmlFailure(outcome: Extract<DmlOutcome, { ok: false }>): RestResult {
  return { status: outcome.status, body: [outcome.error] };
}

const SYSTEM_FIELD_TYPES: Readonly<Record<string, string>> = {
  Id: 'id',
  IsDeleted: 'boolean',
  CreatedDate: 'datetime',
  CreatedById: 'reference',
  LastModifiedDate: 'datetime',
  LastModifiedById: 'reference',
  SystemModstamp: 'datetime',
};

function describe(type: SObjectType): Record<string, unknown> {
  const system = SYSTEM_FIELDS.map((name) => ({
    name,
    type: SYSTEM_FIELD_TYPES[name],
    length: SYSTEM_FIELD_TYPES[name] === 'id' || SYSTEM_FIELD_TYPES[name] === 'reference' ? 18 : 0,
    nillable: false,
    createable: false,
    updateable: false,
    externalId: false,
    // Id is the one system field a record can be looked up (and upserted) by.
    idLookup: name === 'Id',
  }));
  const custom = Object.entries(type.definition.fields).map(([name, def]) => ({
    name,
    label: def.label ?? name,
    type: def.type ?? 'string',
    length: def.length ?? 0,
    nillable: !def.required,
    createable: true,
    updateable: true,
    externalId: def.externalId === true,
    // Salesforce sets idLookup on every external id (and on some standard fields, such as
    // Account.Name, which the sandbox's upsert does not accept: it matches external ids only).
    idLookup: def.externalId === true,
  }));
  return {
    name: type.name,
    keyPrefix: type.keyPrefix,
    custom: type.name.endsWith('__c') || type.isEvent,
    createable: true,
    updateable: !type.isEvent,
    deletable: !type.isEvent,
    queryable: !type.isEvent,
    fields: [...system, ...custom],
  };
}

function saveResponse(services: RestServices, outcome: Extract<DmlOutcome, { ok: true }>): RestResult {
  if (!outcome.event) return { status: 201, body: { id: outcome.id, success: true, errors: [] } };
  const delivered = services.publish(outcome.event);
  return {
    status: 201,
    body: {
      id: outcome.id,
      success: true,
      errors: [{ statusCode: 'OPERATION_ENQUEUED', message: delivered.data.event.EventUuid, fields: [] }],
    },
  };
}

function byId(services: RestServices, context: RestContext, type: SObjectType, rawId: string): RestResult {
  const id = normaliseRecordId(rawId);
  if (id === undefined) return externalIdNotFound(rawId);
  const { store } = services;
  switch (context.method) {
    case 'GET': {
      const record = store.get(type, id);
      if (record === undefined || record === 'deleted') return fromFailure(notFound());
      const fields = context.query.get('fields')?.split(',').filter(Boolean);
      const unknown = fields?.find(
        (f) => !type.fieldName(f) && !SYSTEM_FIELDS.some((s) => s.toLowerCase() === f.toLowerCase()),
      );
      if (unknown !== undefined) {
        return fromFailure(
          failure(400, sfError('INVALID_FIELD', `No such column '${unknown}' on sobject of type ${type.name}`)),
        );
      }
      return { status: 200, body: store.view(type, record, context.apiVersion, fields) };
    }
    case 'PATCH': {
      const parsed = store.parse(type, context.body ?? {}, 'update');
      if (!parsed.ok) return fromFailure(parsed.failure);
      const outcome = store.update(type, id, parsed.fields, context.session.userId);
      return outcome.ok ? { status: 204 } : dmlFailure(outcome);
    }
    case 'DELETE': {
      const outcome = store.delete(type, id);
      return outcome.ok ? { status: 204 } : dmlFailure(outcome);
    }
    default:
      return methodNotAllowed(context.method, ['GET', 'PATCH', 'DELETE', 'HEAD']);
  }
}

function byExternalId(
  services: RestServices,
  context: RestContext,
  type: SObjectType,
  rawField: string,
  value: string,
): RestResult {
  const field = type.fieldName(rawField);
  if (field === undefined || !type.definition.fields[field]?.externalId) return externalIdNotFound(rawField);
  const { store } = services;
  const matches = store.findByExternalId(type, field, value);
  // Salesforce cannot tell which record is meant: it lists them, and neither reads nor writes.
  if (matches.length > 1 && context.method !== 'DELETE') {
    return {
      status: 300,
      body: matches.map((m) => `/services/data/v${context.apiVersion}/sobjects/${type.name}/${m.Id}`),
    };
  }
  switch (context.method) {
    case 'GET': {
      const record = matches[0];
      if (record === undefined) return fromFailure(notFound());
      return { status: 200, body: store.view(type, record, context.apiVersion) };
    }
    case 'PATCH': {
      const parsed = store.parse(type, context.body ?? {}, 'update');
      if (!parsed.ok) return fromFailure(parsed.failure);
      const outcome = store.upsert(type, field, value, parsed.fields, context.session.userId);
      if (!outcome.ok) return dmlFailure(outcome);
      const withCreated = reportsCreated(context.apiVersion);
      if (outcome.created) {
        const body = { id: outcome.id, success: true, errors: [], ...(withCreated ? { created: true } : {}) };
        return { status: 201, body };
      }
      return withCreated
        ? { status: 200, body: { id: outcome.id, success: true, errors: [], created: false } }
        : { status: 204 };
    }
    case 'DELETE': {
      const record = matches[0];
      if (record === undefined) return fromFailure(notFound());
      const outcome = store.delete(type, record.Id);
      return outcome.ok ? { status: 204 } : dmlFailure(outcome);
    }
    default:
      return methodNotAllowed(context.method, ['GET', 'PATCH', 'DELETE', 'HEAD']);
  }
}

/** Routes `sobjects/...`; `segments[0]` is `sobjects`. */
export function routeSObjects(services: RestServices, context: RestContext): RestResult {
  const [, typeName, second, third, ...rest] = context.segments;
  if (typeName === undefined) {
    if (context.method !== 'GET') return methodNotAllowed(context.method, ['GET', 'HEAD']);
    const sobjects = services.schema.all().map((type) => ({ name: type.name, keyPrefix: type.keyPrefix }));
    return { status: 200, body: { encoding: 'UTF-8', maxBatchSize: 200, sobjects } };
  }
  const type = services.schema.get(typeName);
  if (type === undefined || rest.length > 0) return fromFailure(notFound());
  if (second === undefined) {
    if (context.method !== 'POST') return methodNotAllowed(context.method, ['GET', 'POST', 'HEAD']);
    const parsed = services.store.parse(type, context.body, 'create');
    if (!parsed.ok) return fromFailure(parsed.failure);
    const outcome = services.store.create(type, parsed.fields, context.session.userId);
    return outcome.ok ? saveResponse(services, outcome) : dmlFailure(outcome);
  }
  if (second === 'describe' && third === undefined) {
    return context.method === 'GET' ? { status: 200, body: describe(type) } : methodNotAllowed(context.method, ['GET']);
  }
  return third === undefined
    ? byId(services, context, type, second)
    : byExternalId(services, context, type, second, third);
}

/**
 * The org's records and the save rules Salesforce applies to them: body parsing (unknown and
 * read-only fields, JSON types), then per-record checks (required fields, text lengths, validation
 * rules, unique external ids, row locks). Platform events pass the same checks but are not stored:
 * a successful create of an `__e` object returns the event for the caller to publish.
 */

import { failure, type RestFailure, type SalesforceError, sfError, unableToLockRow } from './salesforce-errors.ts';
import type { RecordIdFactory } from './salesforce-ids.ts';
import { type FieldDefinition, type SObjectSchema, type SObjectType, SYSTEM_FIELDS } from './sobject-schema.ts';

export type SObjectRecord = Record<string, unknown> & { Id: string };

/** A platform event message that passed the save rules and awaits publishing. */
export interface PendingEvent {
  sobject: string;
  fields: Record<string, unknown>;
  createdById: string;
}

export type DmlOutcome =
  | { ok: true; id: string; created: boolean; event?: PendingEvent }
  | { ok: false; status: number; error: SalesforceError; id?: string };

export type ParseResult = { ok: true; fields: Record<string, unknown> } | { ok: false; failure: RestFailure };

export interface SObjectStoreOptions {
  schema: SObjectSchema;
  ids: RecordIdFactory;
  now: () => Date;
  /** Asked before each write of a stored record: true answers `UNABLE_TO_LOCK_ROW`. */
  isRowLocked: (sobject: string, id: string | undefined) => boolean;
}

const SYSTEM_FIELD_SET = new Set<string>(SYSTEM_FIELDS.map((f) => f.toLowerCase()));
const TEXT_TYPES = new Set(['string', 'textarea', 'picklist', 'url', 'email', 'phone', 'reference']);
const NUMBER_TYPES = new Set(['double', 'currency', 'percent', 'int']);

/** Salesforce's REST date-time format: `2024-05-01T10:00:00.000+0000`. */
export function formatDateTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function deserializeError(javaType: string, value: unknown): RestFailure {
  const token = typeof value === 'string' ? 'VALUE_STRING' : Array.isArray(value) ? 'START_ARRAY' : 'START_OBJECT';
  return failure(
    400,
    sfError(
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${javaType} from ${token} value ${String(value)} or request may be missing a required field`,
    ),
  );
}

/** Converts a JSON value to what the field stores, or answers the deserialisation error. */
function coerce(definition: FieldDefinition, value: unknown): { value: unknown } | RestFailure {
  if (value === null) return { value: null };
  const type = definition.type ?? 'string';
  if (TEXT_TYPES.has(type)) {
    if (typeof value === 'string') return { value };
    if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
    return deserializeError('string', value);
  }
  if (NUMBER_TYPES.has(type)) {
    const n =
      typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    return Number.isFinite(n) ? { value: n } : deserializeError(type === 'int' ? 'int' : 'double', value);
  }
  if (type === 'boolean') {
    if (typeof value === 'boolean') return { value };
    if (value === 'true' || value === 'false') return { value: value === 'true' };
    return deserializeError('boolean', value);
  }
  if (type === 'date') {
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return { value };
    return deserializeError('date', value);
  }
  // datetime
  const parsed = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  return Number.isNaN(parsed.getTime()) ? deserializeError('datetime', value) : { value: formatDateTime(parsed) };
}

const isBlank = (value: unknown) => value === undefined || value === null || value === '';

export class SObjectStore {
  private readonly schema: SObjectSchema;
  private readonly ids: RecordIdFactory;
  private readonly now: () => Date;
  private readonly isRowLocked: SObjectStoreOptions['isRowLocked'];
  private live = new Map<string, SObjectRecord>();
  private deleted = new Map<string, SObjectRecord>();

  constructor(options: SObjectStoreOptions) {
    this.schema = options.schema;
    this.ids = options.ids;
    this.now = options.now;
    this.isRowLocked = options.isRowLocked;
  }

  /**
   * Reads a request body into declared field names. Fails the whole request (400) on an unknown
   * field, a system field, or a value of the wrong JSON type. `attributes` is ignored; `Id` is
   * refused on create and skipped otherwise (the caller takes the id from the URL or the item).
   */
  parse(type: SObjectType, body: unknown, mode: 'create' | 'update'): ParseResult {
    if (!isPlainObject(body)) {
      return {
        ok: false,
        failure: failure(400, sfError('JSON_PARSER_ERROR', `Can not deserialize SObject out of ${typeof body} token`)),
      };
    }
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body)) {
      if (key === 'attributes') continue;
      if (key.toLowerCase() === 'id') {
        if (mode === 'create') {
          return {
            ok: false,
            failure: failure(
              400,
              sfError('INVALID_FIELD_FOR_INSERT_UPDATE', 'Record ID: cannot specify Id in an insert call', ['Id']),
            ),
          };
        }
        continue;
      }
      if (SYSTEM_FIELD_SET.has(key.toLowerCase())) {
        return {
          ok: false,
          failure: failure(
            400,
            sfError(
              'INVALID_FIELD_FOR_INSERT_UPDATE',
              `Unable to create/update fields: ${key}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
              [key],
            ),
          ),
        };
      }
      const name = type.fieldName(key);
      const definition = name === undefined ? undefined : type.definition.fields[name];
      if (name === undefined || definition === undefined) {
        return {
          ok: false,
          failure: failure(400, sfError('INVALID_FIELD', `No such column '${key}' on sobject of type ${type.name}`)),
        };
      }
      const coerced = coerce(definition, value);
      if ('status' in coerced) return { ok: false, failure: coerced };
      fields[name] = coerced.value;
    }
    return { ok: true, fields };
  }

  /** A live record of the object, or `deleted` when it sits in the recycle bin. */
  get(type: SObjectType, id: string): SObjectRecord | 'deleted' | undefined {
    const record = this.live.get(id);
    if (record && id.startsWith(type.keyPrefix)) return record;
    if (this.deleted.has(id) && id.startsWith(type.keyPrefix)) return 'deleted';
    return undefined;
  }

  findByExternalId(type: SObjectType, field: string, value: string): SObjectRecord[] {
    return this.records(type).filter((record) => record[field] === value);
  }

  records(type: SObjectType): SObjectRecord[] {
    return [...this.live.values()].filter((record) => record.Id.startsWith(type.keyPrefix));
  }

  create(type: SObjectType, fields: Record<string, unknown>, userId: string): DmlOutcome {
    const problem = this.check(type, fields, fields, 'create', undefined);
    if (problem) return { ok: false, status: 400, error: problem };
    const id = this.ids.next(type.keyPrefix);
    if (type.isEvent)
      return { ok: true, id, created: true, event: { sobject: type.name, fields, createdById: userId } };
    if (this.isRowLocked(type.name, undefined)) return { ok: false, status: 400, error: unableToLockRow(undefined) };
    const now = formatDateTime(this.now());
    const record: SObjectRecord = { Id: id };
    for (const name of type.fieldNames()) record[name] = fields[name] ?? null;
    Object.assign(record, {
      IsDeleted: false,
      CreatedDate: now,
      CreatedById: userId,
      LastModifiedDate: now,
      LastModifiedById: userId,
      SystemModstamp: now,
    });
    this.live.set(id, record);
    return { ok: true, id, created: true };
  }

  update(type: SObjectType, id: string, fields: Record<string, unknown>, userId: string): DmlOutcome {
    const existing = this.get(type, id);
    if (existing === undefined || existing === 'deleted') return this.missing(id, existing);
    const merged = { ...existing, ...fields };
    const problem = this.check(type, merged, fields, 'update', id);
    if (problem) return { ok: false, status: 400, id, error: problem };
    if (this.isRowLocked(type.name, id)) return { ok: false, status: 400, id, error: unableToLockRow(id) };
    const now = formatDateTime(this.now());
    Object.assign(existing, fields, { LastModifiedDate: now, LastModifiedById: userId, SystemModstamp: now });
    return { ok: true, id, created: false };
  }

  upsert(type: SObjectType, field: string, value: string, fields: Record<string, unknown>, userId: string): DmlOutcome {
    const matches = this.findByExternalId(type, field, value);
    const match = matches[0];
    if (match === undefined) return this.create(type, { ...fields, [field]: value }, userId);
    if (matches.length > 1) {
      // A non-unique external id shared by several records: Salesforce cannot tell which to update.
      const label = type.definition.fields[field]?.label ?? field;
      return {
        ok: false,
        status: 300,
        error: sfError(
          'DUPLICATE_EXTERNAL_ID',
          `${label}: more than one record found for external id field: [${matches.map((m) => m.Id).join(', ')}]`,
          [field],
        ),
      };
    }
    return this.update(type, match.Id, fields, userId);
  }

  delete(type: SObjectType, id: string): DmlOutcome {
    const existing = this.get(type, id);
    if (existing === undefined || existing === 'deleted') return this.missing(id, existing);
    if (this.isRowLocked(type.name, id)) return { ok: false, status: 400, id, error: unableToLockRow(id) };
    this.live.delete(id);
    this.deleted.set(id, { ...existing, IsDeleted: true });
    return { ok: true, id, created: false };
  }

  /** Captures every record; the returned function puts them back (an all-or-none rollback). */
  savepoint(): () => void {
    const live = new Map([...this.live].map(([id, record]) => [id, { ...record }]));
    const deleted = new Map(this.deleted);
    return () => {
      this.live = live;
      this.deleted = deleted;
    };
  }

  /** The record as the REST API shows it, optionally limited to some fields. */
  view(type: SObjectType, record: SObjectRecord, apiVersion: string, fields?: string[]): Record<string, unknown> {
    const attributes = { type: type.name, url: `/services/data/v${apiVersion}/sobjects/${type.name}/${record.Id}` };
    if (!fields) return { attributes, ...record };
    const view: Record<string, unknown> = { attributes };
    for (const field of fields) {
      const name = type.fieldName(field) ?? SYSTEM_FIELDS.find((f) => f.toLowerCase() === field.toLowerCase());
      if (name !== undefined) view[name] = record[name] ?? null;
    }
    view.Id = record.Id;
    return view;
  }

  private missing(id: string, existing: 'deleted' | undefined): DmlOutcome {
    return existing === 'deleted'
      ? { ok: false, status: 404, id, error: sfError('ENTITY_IS_DELETED', 'entity is deleted', []) }
      : { ok: false, status: 404, id, error: sfError('NOT_FOUND', 'The requested resource does not exist') };
  }

  /** Record-level save rules, in the order Salesforce runs them; the first failure wins. */
  private check(
    type: SObjectType,
    record: Record<string, unknown>,
    changed: Record<string, unknown>,
    mode: 'create' | 'update',
    id: string | undefined,
  ): SalesforceError | undefined {
    const missing = Object.entries(type.definition.fields)
      .filter(
        ([name, def]) =>
          def.required && (mode === 'create' ? isBlank(record[name]) : name in changed && isBlank(changed[name])),
      )
      .map(([name]) => name);
    if (missing.length > 0) {
      return sfError('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
    }
    for (const [name, value] of Object.entries(changed)) {
      const def = type.definition.fields[name];
      if (def?.length !== undefined && typeof value === 'string' && value.length > def.length) {
        return sfError(
          'STRING_TOO_LONG',
          `${def.label ?? name}: data value too large: ${value} (max length=${def.length})`,
          [name],
        );
      }
    }
    for (const rule of type.definition.validationRules ?? []) {
      if (rule.failsWhen(record)) {
        return sfError(
          'FIELD_CUSTOM_VALIDATION_EXCEPTION',
          rule.errorMessage,
          rule.errorField ? [rule.errorField] : [],
        );
      }
    }
    if (!type.isEvent) {
      for (const [name, def] of Object.entries(type.definition.fields)) {
        const value = changed[name];
        if (!(def.unique ?? def.externalId) || isBlank(value)) continue;
        const other = this.records(type).find((r) => r[name] === value && r.Id !== id);
        if (other) {
          return sfError(
            'DUPLICATE_VALUE',
            `duplicate value found: ${name} duplicates value on record with id: ${other.Id}`,
            [],
          );
        }
      }
    }
    return undefined;
  }
}

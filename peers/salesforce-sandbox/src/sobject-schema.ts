/**
 * The objects the sandbox org knows: standard and custom objects (records kept in the store) and
 * platform events (names ending `__e`, published rather than stored). Field names are matched
 * case-insensitively, as the REST API does, and answered with their declared spelling.
 */

import { STANDARD_KEY_PREFIXES } from './salesforce-ids.ts';

export type FieldType =
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'url'
  | 'email'
  | 'phone'
  | 'reference'
  | 'double'
  | 'currency'
  | 'percent'
  | 'int'
  | 'boolean'
  | 'date'
  | 'datetime';

export interface FieldDefinition {
  /** Field type; decides the JSON type accepted. Default `string`. */
  type?: FieldType;
  /** Maximum length of a text value (`STRING_TOO_LONG` beyond it). Default: none. */
  length?: number;
  /** Required on create and never nullable (`REQUIRED_FIELD_MISSING`). Default false. */
  required?: boolean;
  /** An external id usable for upserts. Default false. */
  externalId?: boolean;
  /**
   * Two records may not share a value (`DUPLICATE_VALUE`). Default: true for an external id (set
   * false for a non-unique one, which an upsert matching several records refuses with
   * `DUPLICATE_EXTERNAL_ID`), else false.
   */
  unique?: boolean;
  /** Label used in messages such as `STRING_TOO_LONG`. Default: the field name. */
  label?: string;
}

/** A validation rule: when `failsWhen(record)` is true the save fails with `FIELD_CUSTOM_VALIDATION_EXCEPTION`. */
export interface ValidationRule {
  errorMessage: string;
  /** The field the error is shown on; default: none (a page-level error). */
  errorField?: string;
  failsWhen(record: Readonly<Record<string, unknown>>): boolean;
}

export interface SObjectDefinition {
  /** 3-character id prefix; default: a standard one where known, else one invented per custom object. */
  keyPrefix?: string;
  fields: Record<string, FieldDefinition>;
  validationRules?: ValidationRule[];
}

/** Fields Salesforce maintains itself on every stored record; never writable through the API. */
export const SYSTEM_FIELDS = [
  'Id',
  'IsDeleted',
  'CreatedDate',
  'CreatedById',
  'LastModifiedDate',
  'LastModifiedById',
  'SystemModstamp',
] as const;

/** The default org: what the broker's Salesforce connector reads and writes. */
export const DEFAULT_SOBJECTS: Readonly<Record<string, SObjectDefinition>> = {
  Account: {
    fields: {
      Name: { length: 255, required: true, label: 'Account Name' },
      Industry: { type: 'picklist', length: 255 },
      Description: { type: 'textarea', length: 32000 },
    },
  },
  Opportunity: {
    fields: {
      Name: { length: 120, required: true, label: 'Name' },
      StageName: { type: 'picklist', length: 255, required: true, label: 'Stage' },
      CloseDate: { type: 'date', required: true, label: 'Close Date' },
      Amount: { type: 'currency' },
      AccountId: { type: 'reference', length: 18 },
      Description: { type: 'textarea', length: 32000 },
      Contract_URL__c: { type: 'url', length: 255, label: 'Contract URL' },
    },
  },
  MCP_Result__c: {
    fields: {
      Name: { length: 80 },
      Request_Id__c: { length: 255, externalId: true, label: 'Request Id' },
      Status__c: { type: 'picklist', length: 255 },
      Tool__c: { length: 255 },
      Result__c: { type: 'textarea', length: 131072 },
      Error__c: { type: 'textarea', length: 32768 },
      Completed_At__c: { type: 'datetime' },
      Related_Record_Id__c: { length: 18 },
    },
  },
  MCP_Tool_Request__e: {
    fields: {
      Tool__c: { length: 255, required: true },
      Arguments__c: { type: 'textarea', length: 131072 },
      Record_Id__c: { length: 18 },
      Request_Id__c: { length: 255 },
      Write_Back__c: { type: 'textarea', length: 32768 },
    },
  },
  MCP_Tool_Result__e: {
    fields: {
      Request_Id__c: { length: 255, required: true },
      Status__c: { length: 255 },
      Tool__c: { length: 255 },
      Result__c: { type: 'textarea', length: 131072 },
      Error__c: { type: 'textarea', length: 32768 },
      Record_Id__c: { length: 18 },
    },
  },
  // Last: a custom object's invented key prefix follows its place here, and the others' must not move.
  MCP_Batch_Run__e: {
    fields: {
      Run_Id__c: { length: 64, required: true },
      Schedule__c: { length: 64 },
      Status__c: { length: 32 },
      Counts__c: { type: 'textarea', length: 32768 },
      Errors__c: { type: 'textarea', length: 32768 },
      Duration_Ms__c: { type: 'double' },
    },
  },
};

export const isPlatformEvent = (sobject: string): boolean => sobject.endsWith('__e');

/** One object of the org with its resolved key prefix and case-insensitive field lookup. */
export class SObjectType {
  readonly name: string;
  readonly keyPrefix: string;
  readonly isEvent: boolean;
  readonly definition: SObjectDefinition;
  private readonly byLowerName = new Map<string, string>();

  constructor(name: string, definition: SObjectDefinition, keyPrefix: string) {
    this.name = name;
    this.definition = definition;
    this.keyPrefix = keyPrefix;
    this.isEvent = isPlatformEvent(name);
    for (const field of Object.keys(definition.fields)) this.byLowerName.set(field.toLowerCase(), field);
  }

  /** The declared spelling of a field name, or undefined when the object has no such field. */
  fieldName(name: string): string | undefined {
    return this.byLowerName.get(name.toLowerCase());
  }

  field(name: string): FieldDefinition | undefined {
    const declared = this.fieldName(name);
    return declared === undefined ? undefined : this.definition.fields[declared];
  }

  fieldNames(): string[] {
    return Object.keys(this.definition.fields);
  }
}

/** All objects of the org, looked up case-insensitively by API name. */
export class SObjectSchema {
  private readonly types = new Map<string, SObjectType>();

  constructor(definitions: Readonly<Record<string, SObjectDefinition>>) {
    let customIndex = 1;
    let eventIndex = 0;
    for (const [name, definition] of Object.entries(definitions)) {
      const keyPrefix =
        definition.keyPrefix ??
        STANDARD_KEY_PREFIXES[name] ??
        (isPlatformEvent(name)
          ? `e0${(eventIndex++).toString(36).toUpperCase()}`
          : `a0${(customIndex++).toString(36).toUpperCase()}`);
      this.types.set(name.toLowerCase(), new SObjectType(name, definition, keyPrefix));
    }
  }

  get(name: string): SObjectType | undefined {
    return this.types.get(name.toLowerCase());
  }

  /** The object an id belongs to, by its key prefix. */
  byKeyPrefix(id: string): SObjectType | undefined {
    const prefix = id.slice(0, 3);
    for (const type of this.types.values()) if (type.keyPrefix === prefix) return type;
    return undefined;
  }

  all(): SObjectType[] {
    return [...this.types.values()];
  }
}

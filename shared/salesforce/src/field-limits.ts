import type { Connection } from 'jsforce';
import type { FieldValue } from './outcome-mapping.ts';

/** What the broker needs to know of one field: its declared name, type and maximum length. */
export interface FieldLimit {
  name: string;
  type: string;
  /** Maximum length of a text value; 0 when the type has none. */
  length: number;
  /** Free text that may be cut short with a pointer to the full result. */
  truncatable: boolean;
  /** Createable and updateable through the API (false e.g. for an auto-number `Name`). */
  writable: boolean;
}

/** The fields of one sObject, looked up case-insensitively (as Salesforce matches field names). */
export class SObjectFieldLimits {
  readonly sobject: string;
  readonly #byLowerName: Map<string, FieldLimit>;

  constructor(sobject: string, fields: readonly FieldLimit[]) {
    this.sobject = sobject;
    this.#byLowerName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  }

  field(name: string): FieldLimit | undefined {
    return this.#byLowerName.get(name.toLowerCase());
  }
}

/**
 * Text types whose value can be cut short and still be read. Picklists, emails, phone numbers,
 * ids and references are never cut (a cut value would be wrong, not short): Salesforce refuses
 * them with `STRING_TOO_LONG`. External id fields are keys and never cut either.
 */
const TRUNCATABLE_TYPES = new Set(['string', 'textarea', 'url']);

interface DescribedField {
  name: string;
  type: string;
  length?: number;
  externalId?: boolean;
  idLookup?: boolean;
  createable?: boolean;
  updateable?: boolean;
  autoNumber?: boolean;
}

/**
 * Describes each sObject once per (org, sObject) and keeps the result for the life of the
 * process (concurrent first uses share one describe; a failed describe is not kept). `forget`
 * drops an entry, e.g. after Salesforce answered `STRING_TOO_LONG` for a field whose length changed.
 */
export class FieldLimits {
  readonly #cache = new Map<string, Promise<SObjectFieldLimits>>();

  of(orgId: string, sobject: string, conn: Connection): Promise<SObjectFieldLimits> {
    const key = `${orgId}\n${sobject.toLowerCase()}`;
    let limits = this.#cache.get(key);
    if (!limits) {
      limits = conn
        .sobject(sobject)
        .describe()
        .then(
          (described) =>
            new SObjectFieldLimits(
              described.name,
              (described.fields as DescribedField[]).map((f) => ({
                name: f.name,
                type: f.type,
                length: f.length ?? 0,
                truncatable:
                  TRUNCATABLE_TYPES.has(f.type) && (f.length ?? 0) > 0 && f.externalId !== true && f.idLookup !== true,
                writable: f.createable === true && f.updateable === true && f.autoNumber !== true,
              })),
            ),
        );
      this.#cache.set(key, limits);
      const cached = limits;
      cached.catch(() => {
        if (this.#cache.get(key) === cached) this.#cache.delete(key);
      });
    }
    return limits;
  }

  forget(orgId: string, sobject: string): void {
    this.#cache.delete(`${orgId}\n${sobject.toLowerCase()}`);
  }

  clear(): void {
    this.#cache.clear();
  }
}

/** Used when even the full pointer does not fit. */
const SHORT_MARKER = '… [truncated]';

/** The text that ends a truncated value: `… [truncated; full result: <where>]`. */
export const truncationPointer = (where: string) => `… [truncated; full result: ${where}]`;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Cuts `value` to `length` characters, ending with `pointer` (or a short marker when the pointer
 * would leave no room for content). The result is exactly `length` long, one less when the cut
 * would split a surrogate pair.
 */
export function truncateToLength(value: string, length: number, pointer: string): string {
  if (value.length <= length) return value;
  const marker = length > pointer.length ? pointer : length > SHORT_MARKER.length ? SHORT_MARKER : '';
  let keep = length - marker.length;
  if (keep > 0 && isHighSurrogate(value.charCodeAt(keep - 1))) keep -= 1;
  return value.slice(0, keep) + marker;
}

/** The values to write, with declared field names and text cut to fit, and the fields that were cut. */
export interface FittedValues {
  values: Record<string, FieldValue>;
  truncated: string[];
}

/**
 * Fits values to the sObject's fields: names take their declared spelling, and a string longer
 * than a truncatable field's length is cut to fit exactly, ending with `pointer`. Fields the
 * describe does not know are passed on as they are (Salesforce answers `INVALID_FIELD`).
 */
export function fitToFieldLimits(
  values: Readonly<Record<string, FieldValue>>,
  limits: SObjectFieldLimits,
  pointer: string,
): FittedValues {
  const fitted: Record<string, FieldValue> = {};
  const truncated: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const field = limits.field(name);
    const declared = field?.name ?? name;
    if (field?.truncatable && typeof value === 'string' && value.length > field.length) {
      fitted[declared] = truncateToLength(value, field.length, pointer);
      truncated.push(declared);
    } else fitted[declared] = value;
  }
  return { values: fitted, truncated };
}

/**
 * Salesforce record ids: 15 case-sensitive characters (3-character key prefix naming the object,
 * then instance and counter characters) plus the 3-character case-insensitive checksum suffix that
 * the APIs return, 18 characters in all.
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** Key prefixes Salesforce uses for the standard objects the sandbox knows. */
export const STANDARD_KEY_PREFIXES: Readonly<Record<string, string>> = {
  Account: '001',
  Contact: '003',
  User: '005',
  Opportunity: '006',
  Organization: '00D',
  Lead: '00Q',
  Task: '00T',
  Case: '500',
};

/** The checksum suffix: one character per 5-character chunk, a bit per upper-case letter. */
export function checksumSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') flags |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET.charAt(flags);
  }
  return suffix;
}

/** Accepts a 15- or 18-character id and returns the 18-character form, or undefined. */
export function normaliseRecordId(value: string): string | undefined {
  if (/^[a-zA-Z0-9]{15}$/.test(value)) return value + checksumSuffix(value);
  if (/^[a-zA-Z0-9]{18}$/.test(value)) {
    const id15 = value.slice(0, 15);
    return value.slice(15).toUpperCase() === checksumSuffix(id15) ? id15 + checksumSuffix(id15) : undefined;
  }
  return undefined;
}

/** Issues increasing ids per key prefix, on one pretend instance ("5g"). */
export class RecordIdFactory {
  private readonly counters = new Map<string, number>();

  next(keyPrefix: string): string {
    const n = (this.counters.get(keyPrefix) ?? 0) + 1;
    this.counters.set(keyPrefix, n);
    let counter = '';
    for (let rest = n; counter.length < 9; rest = Math.floor(rest / 62)) counter = BASE62.charAt(rest % 62) + counter;
    const id15 = `${keyPrefix}5g0${counter}`;
    return id15 + checksumSuffix(id15);
  }
}

/**
 * The SOQL subset the sandbox answers, enough for batch selections and the demo:
 *
 *   SELECT field, … FROM Object
 *     [WHERE condition]            -- =, !=, <>, <, <=, >, >=, LIKE, IN (…), NOT IN (…), AND, OR, NOT, ( )
 *     [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …]
 *     [LIMIT n] [OFFSET n]
 *
 * Values: 'quoted strings' (with \' escapes), numbers, true/false, null, dates (2024-05-01),
 * date-times (2024-05-01T10:00:00Z) and the date literals TODAY, YESTERDAY, LAST_N_DAYS:n and
 * N_DAYS_AGO:n. Fields are the object's declared fields and Id/CreatedDate/… (case-insensitive,
 * answered in their declared spelling). Relationship paths, aggregates, GROUP BY and sub-queries
 * are not supported: they answer MALFORMED_QUERY, as a misspelt keyword would.
 *
 * Errors follow Salesforce's shape: `MALFORMED_QUERY` and `INVALID_FIELD` messages repeat the query
 * with a caret under the offending token and `ERROR at Row:1:Column:<n>`; an unknown object is
 * `INVALID_TYPE` ("sObject type 'X' is not supported.").
 */

import { failure, type RestFailure, sfError } from './salesforce-errors.ts';
import { type SObjectSchema, type SObjectType, SYSTEM_FIELDS } from './sobject-schema.ts';

type Value = string | number | boolean | null;

type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; inner: Condition }
  | { kind: 'compare'; field: string; op: string; value: Value | DateBound }
  | { kind: 'in'; field: string; values: Value[]; negated: boolean };

/** A date literal that compares against a range (LAST_N_DAYS:7 is [7 days ago 00:00, now]). */
interface DateBound {
  from: number;
  to: number;
}

export interface SoqlQuery {
  type: SObjectType;
  fields: string[];
  where?: Condition;
  orderBy: { field: string; descending: boolean; nullsLast: boolean }[];
  limit?: number;
  offset?: number;
}

interface Token {
  kind: 'word' | 'string' | 'number' | 'symbol' | 'end';
  text: string;
  /** 1-based column of the token in the query. */
  column: number;
}

const KEYWORDS = new Set([
  'select',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'like',
  'order',
  'by',
  'asc',
  'desc',
  'nulls',
  'first',
  'last',
  'limit',
  'offset',
  'null',
  'true',
  'false',
]);

class QueryError extends Error {
  readonly failure: RestFailure;
  constructor(failureValue: RestFailure) {
    super(failureValue.errors[0]?.message);
    this.failure = failureValue;
  }
}

function located(query: string, column: number, text: string): string {
  return `\n${query}\n${' '.repeat(Math.max(0, column - 1))}^\nERROR at Row:1:Column:${column}\n${text}`;
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const malformed = (column: number, text: string) =>
    new QueryError(failure(400, sfError('MALFORMED_QUERY', located(query, column, text))));
  while (i < query.length) {
    const ch = query[i] as string;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    const column = i + 1;
    if (ch === "'") {
      let text = '';
      i += 1;
      for (;;) {
        if (i >= query.length)
          throw malformed(column, 'line 1:' + (column - 1) + " mismatched character '<EOF>' expecting '''");
        const c = query[i] as string;
        if (c === '\\' && i + 1 < query.length) {
          text += query[i + 1];
          i += 2;
          continue;
        }
        if (c === "'") {
          i += 1;
          break;
        }
        text += c;
        i += 1;
      }
      tokens.push({ kind: 'string', text, column });
      continue;
    }
    const symbol = /^(<=|>=|!=|<>|=|<|>|,|\(|\))/.exec(query.slice(i));
    if (symbol) {
      tokens.push({ kind: 'symbol', text: symbol[0], column });
      i += symbol[0].length;
      continue;
    }
    const word = /^[A-Za-z0-9_.:+-]+/.exec(query.slice(i));
    if (!word) throw malformed(column, `unexpected token: '${ch}'`);
    const text = word[0];
    tokens.push({ kind: /^-?\d+(\.\d+)?$/.test(text) ? 'number' : 'word', text, column });
    i += text.length;
  }
  tokens.push({ kind: 'end', text: '<EOF>', column: query.length + 1 });
  return tokens;
}

const DAY = 86_400_000;
const startOfDay = (ms: number) => Math.floor(ms / DAY) * DAY;

class Parser {
  readonly #query: string;
  readonly #tokens: Token[];
  readonly #schema: SObjectSchema;
  readonly #now: number;
  #at = 0;
  #type: SObjectType | undefined;
  /** Field references seen before FROM, checked once the object is known. */
  readonly #pending: Token[] = [];

  constructor(query: string, schema: SObjectSchema, now: Date) {
    this.#query = query;
    this.#tokens = tokenize(query);
    this.#schema = schema;
    this.#now = now.getTime();
  }

  #peek(): Token {
    return this.#tokens[this.#at] as Token;
  }

  #next(): Token {
    const token = this.#peek();
    if (token.kind !== 'end') this.#at += 1;
    return token;
  }

  #malformed(token: Token): QueryError {
    const text = token.kind === 'end' ? 'unexpected token: <EOF>' : `unexpected token: ${token.text}`;
    return new QueryError(failure(400, sfError('MALFORMED_QUERY', located(this.#query, token.column, text))));
  }

  #isWord(token: Token, word: string): boolean {
    return token.kind === 'word' && token.text.toLowerCase() === word;
  }

  #expectWord(word: string): Token {
    const token = this.#next();
    if (!this.#isWord(token, word)) throw this.#malformed(token);
    return token;
  }

  #field(token: Token): string {
    if (token.kind !== 'word' || KEYWORDS.has(token.text.toLowerCase()) || token.text.includes(':')) {
      throw this.#malformed(token);
    }
    const type = this.#type as SObjectType;
    const name = type.fieldName(token.text) ?? SYSTEM_FIELDS.find((f) => f.toLowerCase() === token.text.toLowerCase());
    if (name === undefined) {
      throw new QueryError(
        failure(
          400,
          sfError(
            'INVALID_FIELD',
            located(
              this.#query,
              token.column,
              `No such column '${token.text}' on entity '${type.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
            ),
          ),
        ),
      );
    }
    return name;
  }

  parse(): SoqlQuery {
    this.#expectWord('select');
    for (;;) {
      const token = this.#next();
      if (token.kind !== 'word' || KEYWORDS.has(token.text.toLowerCase())) throw this.#malformed(token);
      this.#pending.push(token);
      if (this.#peek().text !== ',') break;
      this.#next();
    }
    this.#expectWord('from');
    const object = this.#next();
    if (object.kind !== 'word' || KEYWORDS.has(object.text.toLowerCase())) throw this.#malformed(object);
    const type = this.#schema.get(object.text);
    if (!type || type.isEvent) {
      throw new QueryError(
        failure(
          400,
          sfError(
            'INVALID_TYPE',
            located(this.#query, object.column, `sObject type '${object.text}' is not supported.`),
          ),
        ),
      );
    }
    this.#type = type;
    const fields = [...new Set(this.#pending.map((t) => this.#field(t)))];
    const query: SoqlQuery = { type, fields, orderBy: [] };
    if (this.#isWord(this.#peek(), 'where')) {
      this.#next();
      query.where = this.#or();
    }
    if (this.#isWord(this.#peek(), 'order')) {
      this.#next();
      this.#expectWord('by');
      for (;;) {
        const field = this.#field(this.#next());
        let descending = false;
        if (this.#isWord(this.#peek(), 'asc')) this.#next();
        else if (this.#isWord(this.#peek(), 'desc')) {
          this.#next();
          descending = true;
        }
        let nullsLast = descending;
        if (this.#isWord(this.#peek(), 'nulls')) {
          this.#next();
          const which = this.#next();
          if (this.#isWord(which, 'first')) nullsLast = false;
          else if (this.#isWord(which, 'last')) nullsLast = true;
          else throw this.#malformed(which);
        }
        query.orderBy.push({ field, descending, nullsLast });
        if (this.#peek().text !== ',') break;
        this.#next();
      }
    }
    if (this.#isWord(this.#peek(), 'limit')) {
      this.#next();
      query.limit = this.#count();
    }
    if (this.#isWord(this.#peek(), 'offset')) {
      this.#next();
      query.offset = this.#count();
    }
    const rest = this.#peek();
    if (rest.kind !== 'end') throw this.#malformed(rest);
    return query;
  }

  #count(): number {
    const token = this.#next();
    if (token.kind !== 'number' || !/^\d+$/.test(token.text)) throw this.#malformed(token);
    return Number(token.text);
  }

  #or(): Condition {
    let left = this.#and();
    while (this.#isWord(this.#peek(), 'or')) {
      this.#next();
      left = { kind: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): Condition {
    let left = this.#unary();
    while (this.#isWord(this.#peek(), 'and')) {
      this.#next();
      left = { kind: 'and', left, right: this.#unary() };
    }
    return left;
  }

  #unary(): Condition {
    const token = this.#peek();
    if (this.#isWord(token, 'not')) {
      this.#next();
      return { kind: 'not', inner: this.#unary() };
    }
    if (token.text === '(') {
      this.#next();
      const inner = this.#or();
      const close = this.#next();
      if (close.text !== ')') throw this.#malformed(close);
      return inner;
    }
    return this.#comparison();
  }

  #comparison(): Condition {
    const field = this.#field(this.#next());
    const op = this.#next();
    if (this.#isWord(op, 'in') || this.#isWord(op, 'not')) {
      const negated = this.#isWord(op, 'not');
      if (negated) this.#expectWord('in');
      const open = this.#next();
      if (open.text !== '(') throw this.#malformed(open);
      const values: Value[] = [];
      for (;;) {
        const value = this.#value();
        if (typeof value === 'object' && value !== null) throw this.#malformed(this.#tokens[this.#at - 1] as Token);
        values.push(value);
        const sep = this.#next();
        if (sep.text === ')') break;
        if (sep.text !== ',') throw this.#malformed(sep);
      }
      return { kind: 'in', field, values, negated };
    }
    if (this.#isWord(op, 'like')) {
      const value = this.#next();
      if (value.kind !== 'string') throw this.#malformed(value);
      return { kind: 'compare', field, op: 'like', value: value.text };
    }
    if (op.kind !== 'symbol' || [',', '(', ')'].includes(op.text)) throw this.#malformed(op);
    return { kind: 'compare', field, op: op.text === '<>' ? '!=' : op.text, value: this.#value() };
  }

  #value(): Value | DateBound {
    const token = this.#next();
    if (token.kind === 'string') return token.text;
    if (token.kind === 'number') return Number(token.text);
    if (token.kind !== 'word') throw this.#malformed(token);
    const lower = token.text.toLowerCase();
    if (lower === 'null') return null;
    if (lower === 'true' || lower === 'false') return lower === 'true';
    if (/^\d{4}-\d{2}-\d{2}$/.test(token.text)) {
      const day = Date.parse(`${token.text}T00:00:00Z`);
      return { from: day, to: day + DAY - 1 };
    }
    if (/^\d{4}-\d{2}-\d{2}T/.test(token.text)) {
      const at = Date.parse(token.text);
      if (Number.isNaN(at)) throw this.#malformed(token);
      return { from: at, to: at };
    }
    const today = startOfDay(this.#now);
    if (lower === 'today') return { from: today, to: today + DAY - 1 };
    if (lower === 'yesterday') return { from: today - DAY, to: today - 1 };
    const days = /^(last_n_days|n_days_ago):(\d+)$/.exec(lower);
    if (days) {
      const n = Number(days[2]);
      return days[1] === 'last_n_days'
        ? { from: today - n * DAY, to: this.#now }
        : { from: today - n * DAY, to: today - n * DAY + DAY - 1 };
    }
    throw this.#malformed(token);
  }
}

/** Parses a query against the org's objects; a failure is the REST answer Salesforce would give. */
export function parseSoql(query: string, schema: SObjectSchema, now: Date): SoqlQuery | RestFailure {
  try {
    return new Parser(query.trim(), schema, now).parse();
  } catch (error) {
    if (error instanceof QueryError) return error.failure;
    throw error;
  }
}

const isBound = (value: unknown): value is DateBound =>
  typeof value === 'object' && value !== null && 'from' in value && 'to' in value;

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

function matches(record: Record<string, unknown>, condition: Condition): boolean {
  switch (condition.kind) {
    case 'and':
      return matches(record, condition.left) && matches(record, condition.right);
    case 'or':
      return matches(record, condition.left) || matches(record, condition.right);
    case 'not':
      return !matches(record, condition.inner);
    case 'in': {
      const value = record[condition.field] ?? null;
      const found = condition.values.some(
        (v) =>
          v === value ||
          (typeof v === 'string' && typeof value === 'string' && v.toLowerCase() === value.toLowerCase()),
      );
      return condition.negated ? !found : found;
    }
    case 'compare': {
      const value = record[condition.field] ?? null;
      const target = condition.value;
      if (condition.op === 'like') {
        if (typeof value !== 'string' || typeof target !== 'string') return false;
        const pattern = target
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replaceAll('%', '.*')
          .replaceAll('_', '.');
        return new RegExp(`^${pattern}$`, 'is').test(value);
      }
      if (target === null)
        return condition.op === '=' ? value === null : condition.op === '!=' ? value !== null : false;
      if (value === null) return condition.op === '!=';
      if (isBound(target)) {
        const at = Date.parse(String(value));
        if (Number.isNaN(at)) return false;
        switch (condition.op) {
          case '=':
            return at >= target.from && at <= target.to;
          case '!=':
            return at < target.from || at > target.to;
          case '<':
            return at < target.from;
          case '<=':
            return at <= target.to;
          case '>':
            return at > target.to;
          default:
            return at >= target.from;
        }
      }
      const order =
        typeof value === 'string' && typeof target === 'string'
          ? value.toLowerCase().localeCompare(target.toLowerCase())
          : compareValues(value, target);
      switch (condition.op) {
        case '=':
          return order === 0;
        case '!=':
          return order !== 0;
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        default:
          return order >= 0;
      }
    }
    default:
      return condition satisfies never;
  }
}

/** The records a query selects, in its order, before its fields are picked. */
export function runSoql<T extends Record<string, unknown>>(query: SoqlQuery, records: readonly T[]): T[] {
  let selected = query.where ? records.filter((r) => matches(r, query.where as Condition)) : [...records];
  if (query.orderBy.length > 0) {
    selected.sort((a, b) => {
      for (const { field, descending, nullsLast } of query.orderBy) {
        const x = a[field] ?? null;
        const y = b[field] ?? null;
        if (x === y) continue;
        if (x === null) return nullsLast ? 1 : -1;
        if (y === null) return nullsLast ? -1 : 1;
        const order = compareValues(x, y);
        if (order !== 0) return descending ? -order : order;
      }
      return 0;
    });
  }
  if (query.offset) selected = selected.slice(query.offset);
  if (query.limit !== undefined) selected = selected.slice(0, query.limit);
  return selected;
}

/**
 * A very small SQL interpreter: the two statement shapes a write-back sends, over the in-memory
 * tables, with named parameter markers (`:name`) bound from the request's `parameters`:
 *
 *   MERGE INTO <table | IDENTIFIER(:p)> [AS] t USING (SELECT <v> AS <col>, …) [AS] s
 *     ON t.<key> = s.<key> WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *
 *   INSERT INTO <table | IDENTIFIER(:p)> (<col>, …) VALUES (<v>, …)
 *
 * where each <v> is a parameter marker, NULL, a 'string' or a number. Anything else fails as the
 * warehouse fails a statement it cannot parse (`[PARSE_SYNTAX_ERROR]`), so a client that sends
 * another shape finds out here rather than in production.
 */

import { type DeltaTables, qualify, type Row, type SqlValue } from './delta-tables.ts';

export interface StatementParameter {
  name: string;
  value?: string | null;
  type?: string;
}

export interface SqlError {
  errorCode: string;
  message: string;
  sqlState: string;
}

export type ExecutionOutcome = { ok: true; columns: string[]; row: string[] } | { ok: false; error: SqlError };

const TABLE = String.raw`(IDENTIFIER\s*\(\s*:(?<param>[A-Za-z_]\w*)\s*\)|(?<name>[\w\x60.]+))`;
const MERGE = new RegExp(
  String.raw`^MERGE\s+INTO\s+${TABLE}\s+(?:AS\s+)?(?<t>\w+)\s+USING\s+\(\s*SELECT\s+(?<select>.+?)\s*\)\s+(?:AS\s+)?(?<s>\w+)\s+ON\s+(?<lt>\w+)\.(?<lk>\w+)\s*=\s*(?<rt>\w+)\.(?<rk>\w+)\s+WHEN\s+MATCHED\s+THEN\s+UPDATE\s+SET\s+\*\s+WHEN\s+NOT\s+MATCHED\s+THEN\s+INSERT\s+\*\s*;?$`,
  'is',
);
const INSERT = new RegExp(
  String.raw`^INSERT\s+INTO\s+${TABLE}\s*\((?<columns>[^)]*)\)\s*VALUES\s*\((?<values>.*)\)\s*;?$`,
  'is',
);

const sqlError = (errorCode: string, sqlState: string, message: string): { ok: false; error: SqlError } => ({
  ok: false,
  error: { errorCode, sqlState, message },
});
const syntaxError = (near: string) =>
  sqlError(
    'BAD_REQUEST',
    '42601',
    `[PARSE_SYNTAX_ERROR] Syntax error at or near '${near.slice(0, 40)}'. SQLSTATE: 42601`,
  );

class Failure extends Error {
  readonly outcome: { ok: false; error: SqlError };
  constructor(outcome: { ok: false; error: SqlError }) {
    super(outcome.error.message);
    this.outcome = outcome;
  }
}

/** Splits on commas outside quotes. */
function splitList(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "'") {
      if (quoted && text[i + 1] === "'") {
        current += "''";
        i++;
        continue;
      }
      quoted = !quoted;
    }
    if (ch === ',' && !quoted) {
      items.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') items.push(current.trim());
  return items;
}

function convert(parameter: StatementParameter): SqlValue {
  const value = parameter.value ?? null;
  if (value === null) return null;
  const type = (parameter.type ?? 'STRING').toUpperCase();
  if (type === 'STRING') return value;
  if (type === 'INT' || type === 'BIGINT' || type === 'SMALLINT' || type === 'TINYINT') {
    if (!/^-?\d+$/.test(value)) throw new Failure(castError(value, type));
    return Number(value);
  }
  if (type === 'DOUBLE' || type === 'FLOAT' || type.startsWith('DECIMAL')) {
    if (!Number.isFinite(Number(value))) throw new Failure(castError(value, type));
    return Number(value);
  }
  if (type === 'BOOLEAN') {
    if (!/^(true|false)$/i.test(value)) throw new Failure(castError(value, type));
    return value.toLowerCase() === 'true';
  }
  if (type === 'TIMESTAMP' || type === 'DATE') {
    if (Number.isNaN(Date.parse(value))) throw new Failure(castError(value, type));
    return value;
  }
  throw new Failure(sqlError('BAD_REQUEST', '0A000', `[UNSUPPORTED_DATATYPE] Unsupported data type "${type}".`));
}

const castError = (value: string, type: string) =>
  sqlError(
    'BAD_REQUEST',
    '22018',
    `[CAST_INVALID_INPUT] The value '${value.slice(0, 40)}' of the type "STRING" cannot be cast to "${type}" because it is malformed.`,
  );

function sqlValueOf(expression: string, parameters: Map<string, StatementParameter>): SqlValue {
  const marker = /^:([A-Za-z_]\w*)$/.exec(expression);
  if (marker) {
    const parameter = parameters.get((marker[1] as string).toLowerCase());
    if (!parameter) {
      throw new Failure(
        sqlError('BAD_REQUEST', '42P02', `[UNBOUND_SQL_PARAMETER] Found the unbound parameter: ${marker[1]}.`),
      );
    }
    return convert(parameter);
  }
  if (/^NULL$/i.test(expression)) return null;
  if (/^'(?:[^']|'')*'$/.test(expression)) return expression.slice(1, -1).replace(/''/g, "'");
  if (/^-?\d+(\.\d+)?$/.test(expression)) return Number(expression);
  throw new Failure(syntaxError(expression));
}

export interface ExecuteOptions {
  tables: DeltaTables;
  parameters: StatementParameter[];
  catalog: string;
  schema: string;
}

export function execute(statement: string, options: ExecuteOptions): ExecutionOutcome {
  const parameters = new Map(options.parameters.map((p) => [p.name.toLowerCase(), p]));
  try {
    const merge = MERGE.exec(statement.trim());
    if (merge?.groups) return runMerge(merge.groups, parameters, options);
    const insert = INSERT.exec(statement.trim());
    if (insert?.groups) return runInsert(insert.groups, parameters, options);
    return syntaxError(statement.trim().split(/\s+/).slice(0, 3).join(' '));
  } catch (error) {
    if (error instanceof Failure) return error.outcome;
    throw error;
  }
}

function tableOf(
  groups: Record<string, string | undefined>,
  parameters: Map<string, StatementParameter>,
  options: ExecuteOptions,
) {
  const written = groups.param !== undefined ? sqlValueOf(`:${groups.param}`, parameters) : groups.name;
  if (typeof written !== 'string') throw new Failure(syntaxError(String(written)));
  const qualified = qualify(written, options);
  if (!qualified) {
    throw new Failure(
      sqlError(
        'BAD_REQUEST',
        '42602',
        `[INVALID_SQL_SYNTAX.INVALID_TABLE_VALUED_FUNC_NAME] Invalid table name ${written}.`,
      ),
    );
  }
  const table = options.tables.get(qualified);
  if (!table) {
    const quoted = qualified
      .split('.')
      .map((p) => `\`${p}\``)
      .join('.');
    throw new Failure(
      sqlError(
        'BAD_REQUEST',
        '42P01',
        `[TABLE_OR_VIEW_NOT_FOUND] The table or view ${quoted} cannot be found. Verify the spelling and correctness of the schema and catalog. SQLSTATE: 42P01`,
      ),
    );
  }
  return table;
}

function checkColumns(columns: string[], known: string[]): void {
  const unknown = columns.find((c) => !known.includes(c));
  if (unknown !== undefined) {
    throw new Failure(
      sqlError(
        'BAD_REQUEST',
        '42703',
        `[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name \`${unknown}\` cannot be resolved. SQLSTATE: 42703`,
      ),
    );
  }
}

const counts = (columns: string[], values: number[]) => ({ ok: true as const, columns, row: values.map(String) });

function runMerge(
  groups: Record<string, string | undefined>,
  parameters: Map<string, StatementParameter>,
  options: ExecuteOptions,
): ExecutionOutcome {
  const table = tableOf(groups, parameters, options);
  const source: Row = {};
  for (const item of splitList(groups.select ?? '')) {
    const aliased = /^(.+?)\s+AS\s+(\w+)$/is.exec(item);
    if (!aliased) throw new Failure(syntaxError(item));
    source[(aliased[2] as string).toLowerCase()] = sqlValueOf((aliased[1] as string).trim(), parameters);
  }
  const [t, s, lt, lk, rt, rk] = [groups.t, groups.s, groups.lt, groups.lk, groups.rt, groups.rk].map((v) =>
    (v ?? '').toLowerCase(),
  );
  if (!((lt === t && rt === s) || (lt === s && rt === t))) throw new Failure(syntaxError(`${lt}.${lk}`));
  const targetKey = (lt === t ? lk : rk) ?? '';
  const sourceKey = (lt === t ? rk : lk) ?? '';
  checkColumns(Object.keys(source), table.columns);
  if (!(sourceKey in source)) checkColumns([sourceKey], Object.keys(source));
  checkColumns([targetKey], table.columns);
  const key = source[sourceKey] ?? null;
  const columns = ['num_affected_rows', 'num_updated_rows', 'num_deleted_rows', 'num_inserted_rows'];
  // SQL equality: a NULL key matches nothing, so it is always an insert.
  const existing = key === null ? undefined : table.rows.find((row) => row[targetKey] === key);
  if (existing) {
    Object.assign(existing, source);
    return counts(columns, [1, 1, 0, 0]);
  }
  table.rows.push(Object.fromEntries(table.columns.map((c) => [c, source[c] ?? null])));
  return counts(columns, [1, 0, 0, 1]);
}

function runInsert(
  groups: Record<string, string | undefined>,
  parameters: Map<string, StatementParameter>,
  options: ExecuteOptions,
): ExecutionOutcome {
  const table = tableOf(groups, parameters, options);
  const columns = splitList(groups.columns ?? '').map((c) => c.replace(/^`(.*)`$/, '$1').toLowerCase());
  const values = splitList(groups.values ?? '').map((v) => sqlValueOf(v, parameters));
  if (columns.length !== values.length) {
    throw new Failure(
      sqlError(
        'BAD_REQUEST',
        '21S01',
        `[INSERT_COLUMN_ARITY_MISMATCH] Cannot write to ${table.name}: ${columns.length} columns and ${values.length} values.`,
      ),
    );
  }
  checkColumns(columns, table.columns);
  const row: Row = Object.fromEntries(table.columns.map((c) => [c, null]));
  columns.forEach((c, i) => {
    row[c] = values[i] ?? null;
  });
  table.rows.push(row);
  return counts(['num_affected_rows', 'num_inserted_rows'], [1, 1]);
}

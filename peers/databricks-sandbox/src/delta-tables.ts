/** In-memory stand-ins for Delta tables: a name, its columns, its rows. */

export type SqlValue = string | number | boolean | null;
export type Row = Record<string, SqlValue>;

export interface DeltaTable {
  /** `catalog.schema.table`, lower case. */
  name: string;
  columns: string[];
  rows: Row[];
}

/** Splits and lower-cases a (possibly back-quoted) table name; fills catalog and schema from defaults. */
export function qualify(name: string, defaults: { catalog: string; schema: string }): string | undefined {
  const parts = name.split('.').map((p) =>
    p
      .trim()
      .replace(/^`(.*)`$/, '$1')
      .toLowerCase(),
  );
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => !/^[a-z_][a-z0-9_]*$/.test(p))) return undefined;
  const full = [...[defaults.catalog, defaults.schema].slice(0, 3 - parts.length), ...parts];
  return full.join('.');
}

export class DeltaTables {
  readonly #tables = new Map<string, DeltaTable>();

  create(name: string, columns: string[]): DeltaTable {
    const qualified = qualify(name, { catalog: 'main', schema: 'default' });
    if (!qualified) throw new Error(`not a table name: ${name}`);
    const table = { name: qualified, columns: columns.map((c) => c.toLowerCase()), rows: [] };
    this.#tables.set(qualified, table);
    return table;
  }

  get(qualified: string): DeltaTable | undefined {
    return this.#tables.get(qualified);
  }
}

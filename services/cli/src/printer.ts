/** Where a command's answer goes: one JSON document with --json (for scripts), text otherwise. */
export class Printer {
  readonly json: boolean;
  readonly #out: (text: string) => void;

  constructor(json: boolean, out: (text: string) => void) {
    this.json = json;
    this.#out = out;
  }

  /** `value` as JSON, or the lines `text` makes of it. */
  result<T>(value: T, text: (value: T) => string[]): void {
    this.#out(this.json ? `${JSON.stringify(value, null, 2)}\n` : `${text(value).join('\n')}\n`);
  }
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

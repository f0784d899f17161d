import type { ScenarioResult } from './run-scenario.ts';

/** The counts that must be zero for a scenario to pass. */
export function problemsOf(r: ScenarioResult): string[] {
  const problems: string[] = [];
  if (r.error) problems.push(`did not run: ${r.error}`);
  if (r.lost > 0) problems.push(`${r.lost} lost (${r.notFinal} not final, ${r.noWriteBack} without write-back)`);
  if (r.duplicateWriteBacks > 0) {
    problems.push(
      `${r.duplicateWriteBacks} duplicate write-backs (${r.unrecordedDuplicates} the record shows as 1 attempt)`,
    );
  }
  return problems;
}

const COLUMNS: Array<[string, (r: ScenarioResult) => string | number]> = [
  ['scenario', (r) => r.name],
  ['faults', (r) => r.faults],
  ['accepted', (r) => `${r.accepted}/${r.submitted}`],
  ['succeeded', (r) => r.succeeded],
  ['failed', (r) => r.failed],
  ['lost', (r) => r.lost],
  ['dup invocations', (r) => (r.extraInvocations ? `${r.duplicateInvocations} (+${r.extraInvocations})` : 0)],
  ['dup write-backs', (r) => r.duplicateWriteBacks],
  [
    'retried answers',
    (r) =>
      Object.entries(r.retriedAnswers)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ') || '–',
  ],
  ['s', (r) => r.seconds],
  ['verdict', (r) => (problemsOf(r).length ? 'FAIL' : 'pass')],
];

/** A Markdown table (pasteable into docs/reliability.md). */
export function formatTable(results: ScenarioResult[]): string {
  const rows = results.map((r) => COLUMNS.map(([, f]) => String(f(r))));
  const header = COLUMNS.map(([h]) => h);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

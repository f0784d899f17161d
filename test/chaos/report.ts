import type { ScenarioResult } from './run-scenario.ts';

/**
 * The counts that must be zero for a scenario to pass: lost calls, and write-backs delivered more
 * than once that the record does not own. `strict` (CHAOS_STRICT_WRITE_BACKS=1) fails on every
 * repeated write-back, owned or not; no design can promise that for a worker killed between the
 * receiver's 200 and the bookkeeping of it (see docs/reliability.md).
 */
export function problemsOf(r: ScenarioResult, strict = false): string[] {
  const problems: string[] = [];
  if (r.error) problems.push(`did not run: ${r.error}`);
  if (r.lost > 0) problems.push(`${r.lost} lost (${r.notFinal} not final, ${r.noWriteBack} without write-back)`);
  if (r.unrecordedDuplicates > 0 || ((strict || r.strictWriteBacks) && r.duplicateWriteBacks > 0)) {
    problems.push(
      `${r.duplicateWriteBacks} duplicate write-backs, ${r.unrecordedDuplicates} of them not recorded as unconfirmed attempts`,
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
  ['unrecorded', (r) => r.unrecordedDuplicates],
  [
    'retried answers',
    (r) =>
      Object.entries(r.retriedAnswers)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ') || '–',
  ],
  ['s', (r) => r.seconds],
];

/** A Markdown table (pasteable into docs/reliability.md). */
export function formatTable(results: ScenarioResult[], strict = false): string {
  const columns: typeof COLUMNS = [...COLUMNS, ['verdict', (r) => (problemsOf(r, strict).length ? 'FAIL' : 'pass')]];
  const rows = results.map((r) => columns.map(([, f]) => String(f(r))));
  const header = columns.map(([h]) => h);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failureCatalog, failureCodes, isCatalogFailureCode, retryClassOfKind } from './failure-codes.ts';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Failure codes on records and write-backs'));

describe('failure code catalog', () => {
  it('has the section in docs/errors.md', () => {
    expect(section.startsWith('## Failure codes on records and write-backs')).toBe(true);
  });

  it.each(failureCodes)('%s is documented with its retry class', (code) => {
    const row = section.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row, `docs/errors.md has no failure-code row for ${code}`).toBeDefined();
    expect(row).toContain(`| ${failureCatalog[code].retry} |`);
  });

  it('documents no failure code that the catalog lacks', () => {
    const documented = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (transient|final) \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...failureCodes].sort());
  });

  it('maps every failure kind to a retry class', () => {
    expect(retryClassOfKind('rate_limited')).toBe('transient');
    expect(retryClassOfKind('cancelled')).toBe('final');
  });
});

// Where failure codes are produced: every literal with one of these prefixes in product code must be cataloged.
const FAILURE_LITERAL =
  /['"`]((?:UPSTREAM|EVENT|SALESFORCE|DATABRICKS|SERVICE_BUS|CALLBACK|TOOL|DELIVERY|TARGET)_[A-Z0-9_]+|CANCELLED|INVALID_ARGUMENTS)['"`]/g;
// The prefix of the pass-through code built from an HTTP status.
const NOT_FAILURE_CODES = new Set(['SALESFORCE_HTTP_']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.includes('.test.') && !path.includes('test-support') ? [path] : [];
  });
}

describe('failure codes in the sources', () => {
  it('are all in the catalog (or a SALESFORCE_ pass-through of a code Salesforce names)', () => {
    const root = new URL('../../../', import.meta.url).pathname;
    const unknown = new Set<string>();
    for (const top of ['shared', 'services']) {
      for (const file of sourceFiles(join(root, top))) {
        if (file.endsWith('/shared/contracts/src/failure-codes.ts')) continue;
        const text = readFileSync(file, 'utf8');
        for (const [, code] of text.matchAll(FAILURE_LITERAL)) {
          if (code === undefined || isCatalogFailureCode(code) || NOT_FAILURE_CODES.has(code)) continue;
          // Salesforce's own codes appear in its classification tables without the prefix.
          if (code.startsWith('SALESFORCE_') && file.includes('/shared/salesforce')) continue;
          unknown.add(`${code} (${file.slice(root.length)})`);
        }
      }
    }
    expect([...unknown].sort()).toEqual([]);
  });
});

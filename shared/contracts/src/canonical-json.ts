import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal values serialise equally in every process.
 * Iterative, not recursive: the audit hashes whatever arguments a caller sent, and a value nested
 * deeper than the call stack must hash, not throw after the tool has run.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Work items in reverse order of output: a value still to write, or punctuation already decided.
  const work: Array<{ value: unknown } | string> = [{ value }];
  while (work.length > 0) {
    const item = work.pop() as { value: unknown } | string;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
      continue;
    }
    const pieces: Array<{ value: unknown } | string> = [];
    if (Array.isArray(v)) {
      pieces.push('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) pieces.push(',');
        // A hole stays empty, as Array.prototype.join leaves it.
        if (i in v) pieces.push({ value: v[i] });
      }
      pieces.push(']');
    } else {
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, e]) => e !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      pieces.push('{');
      entries.forEach(([k, e], i) => {
        pieces.push(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`, { value: e });
      });
      pieces.push('}');
    }
    for (let i = pieces.length - 1; i >= 0; i--) work.push(pieces[i] as { value: unknown } | string);
  }
  return out.join('');
}

/** sha256 (hex) of the canonical JSON: a fingerprint that ignores key order. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

import { describe, expect, it } from 'vitest';
import { BoundedLabel } from './bounded-label.ts';

describe('BoundedLabel', () => {
  it('keeps configured values, learns up to its limit, and reports the rest as other', () => {
    const label = new BoundedLabel(['caller-a'], 2);
    expect(label.value('caller-a')).toBe('caller-a');
    expect(label.value('t1')).toBe('t1');
    expect(label.value('t2')).toBe('t2');
    expect(label.value('t3')).toBe('other');
    expect(label.value('t1')).toBe('t1');
    expect(label.value(undefined)).toBe('unknown');
  });

  it('never lets ids through when nothing may be learned', () => {
    const label = new BoundedLabel(['http-callback']);
    for (let i = 0; i < 1000; i++) expect(label.value(`tc_${i}`)).toBe('other');
  });
});

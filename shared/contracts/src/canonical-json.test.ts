import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint } from './canonical-json.ts';

describe('canonical JSON', () => {
  it('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'é' } })).toBe(
      '{"a":{"c":"é","d":[2,{"x":null,"z":1}]},"b":1}',
    );
  });
  it('fingerprints ignore key order but not values', () => {
    expect(fingerprint({ a: 1, b: 2 })).toBe(fingerprint({ b: 2, a: 1 }));
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: '1' }));
    expect(fingerprint({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
  it('serialises values nested far deeper than the call stack, without recursion', () => {
    const depth = 50_000;
    const deep = JSON.parse(`${'['.repeat(depth)}{"b":1,"a":2}${']'.repeat(depth)}`);
    expect(canonicalJson(deep)).toBe(`${'['.repeat(depth)}{"a":2,"b":1}${']'.repeat(depth)}`);
    expect(fingerprint({ x: deep })).toMatch(/^[0-9a-f]{64}$/);
  });
  it('writes mixed values exactly as JSON.stringify with sorted keys would', () => {
    const value = { z: [1, 'two', null, true, { y: [], x: {} }], a: { c: [[[]]], b: -0.5e-7 }, m: 'q"\\u2028' };
    const sorted = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sorted)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
            )
          : v;
    expect(canonicalJson(value)).toBe(JSON.stringify(sorted(value)));
  });
});

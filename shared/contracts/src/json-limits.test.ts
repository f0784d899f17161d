import { describe, expect, it } from 'vitest';
import { isBrokerError } from './broker-error.ts';
import { assertJsonTextDepth, assertJsonValueDepth, jsonTextDepth, jsonValueDepth } from './json-limits.ts';

const nested = (levels: number): string => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('JSON nesting limits', () => {
  it('measures the deepest nesting of text, ignoring brackets inside strings and escaped quotes', () => {
    expect(jsonTextDepth('1')).toBe(0);
    expect(jsonTextDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(jsonTextDepth('{"a":"[[[[{{{{\\"[[[["}')).toBe(1);
    expect(jsonTextDepth('[[],[[]],[]]')).toBe(3);
  });

  it('measures 100,000 levels of text without recursion', () => {
    expect(jsonTextDepth(nested(100_000))).toBe(100_000);
    expect(jsonTextDepth(nested(100_000), 10)).toBe(11);
  });

  it('measures a parsed value iteratively, arrays and objects alike', () => {
    expect(jsonValueDepth(null)).toBe(0);
    expect(jsonValueDepth({ a: [1, { b: 2 }] })).toBe(3);
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = { a: deep };
    expect(jsonValueDepth(deep)).toBe(50_000);
    expect(jsonValueDepth(deep, 64)).toBe(65);
  });

  it('refuses text and values past the limit with BROKER_PAYLOAD_TOO_DEEP naming where and the limit', () => {
    expect(() => assertJsonTextDepth(nested(64), 64)).not.toThrow();
    let caught: unknown;
    try {
      assertJsonTextDepth(nested(65), 64, 'arguments');
    } catch (err) {
      caught = err;
    }
    expect(isBrokerError(caught) && caught.code).toBe('BROKER_PAYLOAD_TOO_DEEP');
    expect(isBrokerError(caught) && caught.status).toBe(400);
    expect((caught as Error).message).toContain('arguments');
    expect((caught as Error).message).toContain('64');
    expect(() => assertJsonValueDepth(JSON.parse(nested(65)), 64)).toThrow(/limit of 64 levels/);
  });
});

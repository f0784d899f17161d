import { describe, expect, it } from 'vitest';
import { parseTraceparent, resolveRequestId } from './request-id.ts';

describe('request id', () => {
  it('keeps a well-formed X-Request-ID', () => {
    expect(resolveRequestId('req-123_abc.def:9')).toBe('req-123_abc.def:9');
  });
  it('replaces malformed or oversized ids with a UUID', () => {
    for (const bad of ['', 'has space', 'x'.repeat(129), 'new\nline', '<script>']) {
      expect(resolveRequestId(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(resolveRequestId(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('traceparent', () => {
  it('parses a valid W3C traceparent', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      sampled: true,
    });
  });
  it('rejects malformed and all-zero trace ids', () => {
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('garbage')).toBeUndefined();
    expect(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeUndefined();
  });
});

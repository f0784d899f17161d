import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, destination };
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAiLCJhdWQiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz';

describe('logger', () => {
  it('redacts authorization headers, tokens and client secrets in structured fields', () => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 't', destination });
    log.info(
      {
        req: { headers: { authorization: `Bearer ${JWT}`, 'ocp-apim-subscription-key': 'sub-key-123' } },
        oauth: { client_secret: 's3cret-value', access_token: JWT },
      },
      'hello',
    );
    const out = lines.join('');
    expect(out).toContain('hello');
    expect(out).not.toContain(JWT);
    expect(out).not.toContain('s3cret-value');
    expect(out).not.toContain('sub-key-123');
    expect(out).toContain('[REDACTED]');
  });

  it('scrubs bearer tokens and JWTs from free-text messages and error messages', () => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 't', destination });
    log.warn(`upstream said: Authorization: Bearer ${JWT}`);
    log.error({ err: new Error(`bad token ${JWT}`) }, 'failed');
    const out = lines.join('');
    expect(out).not.toContain(JWT);
    expect(out.match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('scrubSecrets leaves ordinary text alone', () => {
    expect(scrubSecrets('tool query_customer_data failed for cus-000001')).toBe(
      'tool query_customer_data failed for cus-000001',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config.ts';

const schema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  CLIENT_SECRET: z.string().min(20),
});

describe('loadConfig', () => {
  it('parses and applies defaults', () => {
    expect(loadConfig(schema, { CLIENT_SECRET: 'x'.repeat(20) })).toEqual({
      PORT: 8080,
      CLIENT_SECRET: 'x'.repeat(20),
    });
  });
  it('treats an empty variable as unset', () => {
    expect(loadConfig(schema, { PORT: '', CLIENT_SECRET: 'x'.repeat(20) }).PORT).toBe(8080);
  });
  it('lists every failing key without echoing values', () => {
    try {
      loadConfig(schema, { PORT: '99999', CLIENT_SECRET: 'short-secret' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('CLIENT_SECRET');
      expect(message).not.toContain('short-secret');
    }
  });
});

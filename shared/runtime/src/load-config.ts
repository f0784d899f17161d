import type { z } from 'zod';

/** Thrown when configuration is invalid; the message lists each failing key, never a value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly { key: string; message: string }[];
  constructor(issues: { key: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/**
 * Parses configuration once, at start. Only `main.ts` files pass `process.env`; everything else
 * receives the parsed object, so tests never touch the environment.
 */
export function loadConfig<S extends z.ZodType>(schema: S, source: Record<string, unknown>): z.infer<S> {
  // `VAR=` (as compose's `${VAR:-}` produces) means unset, so defaults apply instead of failing.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      key: issue.path.map(String).join('.') || '(root)',
      // zod 4 messages state the expectation and the received type, never the value itself.
      message: issue.message,
    })),
  );
}

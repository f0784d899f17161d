import { z } from 'zod';

/**
 * A secret is never written in the configuration file: it names the environment variable that
 * holds it. The value is read only when it is used, so it never sits in the parsed config object
 * that might be logged.
 */
export const secretRefSchema = z
  .strictObject({ fromEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)') })
  .describe('Reference to a secret: { fromEnv: "VARIABLE_NAME" }. Inline secrets are refused.');
export type SecretRef = z.infer<typeof secretRefSchema>;

export class SecretMissingError extends Error {
  override readonly name = 'SecretMissingError';
}

/** Reads a referenced secret; throws naming the variable (never a value) when it is unset. */
export function resolveSecret(ref: SecretRef, env: Record<string, string | undefined>): string {
  const value = env[ref.fromEnv];
  if (!value) throw new SecretMissingError(`Environment variable ${ref.fromEnv} (a referenced secret) is not set.`);
  return value;
}

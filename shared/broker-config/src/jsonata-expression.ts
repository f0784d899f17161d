import jsonata from 'jsonata';
import { z } from 'zod';

/**
 * A JSONata expression in the configuration, compiled when the configuration is loaded, so a syntax
 * error stops the start naming the field instead of failing every call that would evaluate it.
 */
export const jsonataExpressionSchema = z
  .string()
  .min(1)
  .max(4000)
  .superRefine((text, ctx) => {
    try {
      jsonata(text);
    } catch (error) {
      const e = error as { message?: string; position?: number };
      ctx.addIssue({
        code: 'custom',
        message: `not a valid JSONata expression: ${e.message ?? String(error)}${typeof e.position === 'number' ? ` (at position ${e.position})` : ''}`,
      });
    }
  });

import { z } from 'zod';

/** The dev launcher's own settings; the MCP server's settings come from its own schema. */
export const devConfigSchema = z.object({
  /** Port of the development OAuth server. */
  DEV_OAUTH_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  /** Port of the broker's ingress (asynchronous tool-call API). */
  DEV_INGRESS_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  /** Port of the Salesforce sandbox (a local stand-in org: OAuth, REST, Streaming). */
  DEV_SALESFORCE_PORT: z.coerce.number().int().min(0).max(65535).default(3200),
  /** Submit one tool call through the broker at start and print its result. Default true. */
  DEV_DEMO_CALL: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Customers in the seeded sample data set. */
  SAMPLE_CUSTOMERS: z.coerce.number().int().min(1).max(999_999).default(200),
  SAMPLE_SEED: z.coerce.number().int().default(42),
  /** Where the dev client credentials file is written (git-ignored). */
  DEV_DATA_DIR: z.string().default('.data'),
});
export type DevConfig = z.infer<typeof devConfigSchema>;

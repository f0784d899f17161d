import { DEFAULT_MAX_JSON_DEPTH } from '@mcp-broker/contracts';
import { logLevelSchema, redisEnvShape } from '@mcp-broker/runtime';
import { storeEnvShape } from '@mcp-broker/store';
import { z } from 'zod';

/** Ingress settings, read once from the environment in main.ts. */
export const ingressConfigSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  /** Externally visible base URL (Location headers, OpenAPI servers). Default http://HOST:<the port listened on>. */
  PUBLIC_URL: z.url().optional(),
  /** Path of the broker configuration file (YAML or JSON): endpoints and callers. */
  BROKER_CONFIG: z.string().min(1),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /**
   * Deepest JSON nesting a request body may have; deeper bodies get 400 BROKER_PAYLOAD_TOO_DEEP
   * before anything parses them. Capped so that the recursive canonical JSON behind the
   * idempotency fingerprint stays far from the stack limit.
   */
  MAX_JSON_DEPTH: z.coerce.number().int().min(8).max(1000).default(DEFAULT_MAX_JSON_DEPTH),
  /**
   * Failed HTTP Basic logins admitted per minute per username, per client address and in total
   * (per replica); past them an attempt answers 429 BROKER_AUTH_THROTTLED without a password check,
   * so guessing costs bounded CPU. Callers whose credentials were verified recently are unaffected.
   */
  BASIC_AUTH_FAILURES_PER_USERNAME: z.coerce.number().int().min(1).default(20),
  BASIC_AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
  BASIC_AUTH_FAILURES_TOTAL: z.coerce.number().int().min(1).default(100),
  /** Seconds a successful Basic check is remembered (by a hash of the header); 0 checks every request. */
  BASIC_AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  ...redisEnvShape,
  ...storeEnvShape,
  /** Deprecated: `broker.keyPrefix` in the broker configuration file. Set, it still wins (with a warning) for one release. */
  REDIS_KEY_PREFIX: z.string().optional(),
  /** Deprecated: `broker.toolCallAttempts`. Set, it still wins (with a warning) for one release. */
  TOOL_CALL_ATTEMPTS: z.coerce.number().int().min(1).max(50).optional(),
  /** Deprecated: `broker.writeBackAttempts`. Set, it still wins (with a warning) for one release. */
  WRITE_BACK_ATTEMPTS: z.coerce.number().int().min(1).max(50).optional(),
  /** Deprecated: `broker.retentionDays`. Set, it still wins (with a warning) for one release. */
  TOOL_CALL_RETENTION_DAYS: z.coerce.number().positive().optional(),
  LOG_LEVEL: logLevelSchema,
});
export type IngressConfig = z.infer<typeof ingressConfigSchema>;

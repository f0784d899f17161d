import { logLevelSchema, redisEnvShape } from '@mcp-broker/runtime';
import { storeEnvShape } from '@mcp-broker/store';
import { z } from 'zod';

/** Worker settings, read once from the environment in main.ts. */
export const workerConfigSchema = z.object({
  /** Path of the broker configuration file (YAML or JSON): endpoints and callers. */
  BROKER_CONFIG: z.string().min(1),
  /** Port of the worker's health and status endpoints (`/healthz`, `/readyz`, `/status`); unset: none. */
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Interface the health port listens on. */
  HOST: z.string().default('127.0.0.1'),
  ...redisEnvShape,
  /** Deprecated: `broker.keyPrefix` in the broker configuration file. Set, it still wins (with a warning) for one release. */
  REDIS_KEY_PREFIX: z.string().optional(),
  /** The broker API's public URL (ingress's PUBLIC_URL): truncated Salesforce values point at the call there. */
  PUBLIC_URL: z.url().optional(),
  ...storeEnvShape,
  /** Deprecated: `broker.toolCallAttempts` in the broker configuration file. Set, it still wins (with a warning) for one release. */
  TOOL_CALL_ATTEMPTS: z.coerce.number().int().min(1).max(50).optional(),
  /** Deprecated: `broker.retentionDays`. Set, it still wins (with a warning) for one release. */
  TOOL_CALL_RETENTION_DAYS: z.coerce.number().positive().optional(),
  /** Deprecated: `broker.writeBackAttempts`. Set, it still wins (with a warning) for one release. */
  WRITE_BACK_ATTEMPTS: z.coerce.number().int().min(1).max(50).optional(),
  /** First retry delay in ms (doubles per attempt, full jitter). */
  RETRY_BASE_DELAY_MS: z.coerce.number().int().min(10).default(1000),
  RETRY_MAX_DELAY_MS: z.coerce.number().int().min(100).default(300_000),
  /** A crashed worker's jobs are taken over after this lock expires. */
  JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Budget of the first write-back attempt, made right after the call by the tool-call job, in ms; 0 leaves every delivery to write-back jobs. */
  INLINE_WRITE_BACK_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /** How often the reconcile sweep looks for calls and deliveries whose jobs Redis lost, in seconds (one replica runs each sweep); 0 turns it off. */
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** A record written within this many seconds is left to its job by the sweep. */
  RECONCILE_GRACE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  WRITE_BACK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  /** Pooled MCP clients per (caller, endpoint) on this replica. */
  MCP_POOL_SIZE: z.coerce.number().int().min(1).max(256).default(8),
  MCP_POOL_IDLE_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Subscribe to the configured orgs' platform event channels (one elected subscriber per channel across replicas). */
  SALESFORCE_EVENTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Lease of a channel's subscriber in Redis, in ms: a dead replica's channels are taken over after it. */
  SALESFORCE_LEASE_TTL_MS: z.coerce.number().int().min(1000).max(300_000).default(15_000),
  /**
   * Most platform events of one caller accepted together in one group (idempotency locks, records
   * and jobs written with shared round trips); 1 accepts each event on its own.
   */
  SALESFORCE_ACCEPT_BATCH: z.coerce.number().int().min(1).max(1000).default(100),
  LOG_LEVEL: logLevelSchema,
});
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

import { DEFAULT_MAX_JSON_DEPTH } from '@mcp-broker/contracts';
import { logLevelSchema, redisEnvShape } from '@mcp-broker/runtime';
import { storeEnvShape } from '@mcp-broker/store';
import { z } from 'zod';

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const toolLimits = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out: Record<string, number> = {};
    for (const part of (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [tool, n] = part.split('=');
      const points = Number(n);
      if (!tool || !Number.isInteger(points) || points < 1) {
        ctx.addIssue({ code: 'custom', message: `expected tool=calls_per_minute pairs, got "${part}"` });
        return z.NEVER;
      }
      out[tool] = points;
    }
    return out;
  });

/** The MCP server's configuration, read once from the environment in main.ts. */
export const mcpServerConfigSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** The externally visible base URL (APIM's URL in production); never derived from Host. */
  PUBLIC_URL: z.url().optional(),
  /** Token audience this server accepts (Entra: the app ID URI, e.g. api://mcp-broker). */
  MCP_RESOURCE: z.string().min(1).default('api://mcp-broker'),
  /** Comma-separated trusted OIDC issuers (exact `iss` values). */
  OAUTH_ISSUERS: list,
  /** Entra ID tenant id; adds https://login.microsoftonline.com/{tenant}/v2.0 as an issuer. */
  ENTRA_TENANT_ID: z.string().uuid().optional(),
  ALLOWED_ORIGINS: list,
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Deepest array/object nesting of a JSON-RPC message on any MCP transport (400 beyond it). */
  MAX_JSON_DEPTH: z.coerce.number().int().min(8).max(1000).default(DEFAULT_MAX_JSON_DEPTH),
  ...redisEnvShape,
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Per-tool calls per minute per identity, e.g. "analyze_sales_data=60,build_account_plan=5". */
  RATE_LIMIT_TOOLS: toolLimits,
  RATE_LIMIT_FAIL_MODE: z.enum(['closed', 'open']).default('closed'),
  ...storeEnvShape,
  /** Customers of sample data loaded at start when the store is the embedded one (0: none). */
  EMBEDDED_SAMPLE_CUSTOMERS: z.coerce.number().int().min(0).max(999_999).default(200),
  /** HMAC key for signed document links (>= 32 chars, same on every replica). Unset: random per start (embedded store only). */
  DOCUMENT_LINK_SECRET: z.string().min(32).optional(),
  /** Lifetime of a signed document link in seconds. */
  DOCUMENT_LINK_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(3600),
  /** Azure Blob Storage for generated documents; unset: the Cosmos `documents` container. */
  AZURE_STORAGE_CONNECTION_STRING: z.string().optional(),
  DOCUMENTS_BLOB_CONTAINER: z.string().default('documents'),
  AUDIT_RETENTION_DAYS: z.coerce.number().positive().default(90),
  SSE_KEEPALIVE_SECONDS: z.coerce.number().positive().default(15),
  LOG_LEVEL: logLevelSchema,
});
export type McpServerConfig = z.infer<typeof mcpServerConfigSchema>;

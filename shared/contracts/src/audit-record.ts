import { z } from 'zod';

/** One audit record per `tools/call`. Holds a hash of the arguments, never the arguments or a token. */
export const auditRecordSchema = z.object({
  id: z.string(),
  /** Partition key: the calling identity. */
  subject: z.string(),
  clientAppId: z.string().optional(),
  issuer: z.string(),
  requestId: z.string(),
  traceId: z.string().optional(),
  /**
   * The mcp-broker tool-call id when the call came through the broker (`_meta["mcp-broker/callId"]`),
   * joining this record to the broker's record of the call. Stated by the client, not verified.
   */
  brokerCallId: z.string().optional(),
  transport: z.enum(['streamable-http', 'sse', 'json-rpc']),
  tool: z.string(),
  /** sha256 (hex) of the canonical JSON of the arguments. */
  argumentsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  outcome: z.enum(['success', 'tool_error', 'forbidden', 'invalid_arguments', 'timeout', 'cancelled', 'error']),
  errorCode: z.string().optional(),
  durationMs: z.number().nonnegative(),
  at: z.iso.datetime(),
  /** Cosmos DB per-item TTL in seconds (retention). */
  ttl: z.number().int().positive().optional(),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

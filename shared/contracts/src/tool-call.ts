import { z } from 'zod';
import { deliverySchema, writeBackTargetSchema } from './write-back-target.ts';

/** A tool call's id: `tc_` and 40 hex digits of a hash of caller and idempotency key. */
export const toolCallIdSchema = z.string().regex(/^tc_[0-9a-f]{40}$/, 'a tool-call id: "tc_" and 40 hex digits');

/** Whether a value is a tool-call id (cheap to check before any lookup). */
export function isToolCallId(value: unknown): value is string {
  return toolCallIdSchema.safeParse(value).success;
}

/** Where a tool call came from. Connectors (Salesforce, Databricks, batch) add their own kinds. */
export const toolCallSourceSchema = z.object({
  kind: z.enum(['api', 'salesforce', 'databricks', 'event-grid', 'service-bus', 'batch']),
  /** Source-specific reference (event replay id, webhook run id…). */
  reference: z.string().max(512).optional(),
});

/**
 * A tool call as every source hands it to the broker core (`intake.accept`): the API, Salesforce
 * platform events, webhooks, queues and schedules all normalise to this one shape. Who calls and
 * through which endpoint come from the caller's configuration, not from the request.
 */
export const toolCallRequestSchema = z.object({
  /** May be '' only when the source already refused the request (it names no usable tool). */
  tool: z.string().max(128),
  arguments: z.record(z.string(), z.unknown()),
  writeBack: z.array(writeBackTargetSchema).max(10),
  /** Derived by the source (an Idempotency-Key header, an event's request id…): the record's id comes from it, so a redelivery is one call. */
  idempotencyKey: z.string().min(1).max(255),
  source: toolCallSourceSchema,
  /** Request id and trace context, carried from ingest to the tool and back. */
  correlation: z.object({ requestId: z.string(), traceparent: z.string().optional() }),
});
export type ToolCallRequest = z.infer<typeof toolCallRequestSchema>;

export const toolCallStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type ToolCallStatus = z.infer<typeof toolCallStatusSchema>;
export const finalStatuses: readonly ToolCallStatus[] = ['succeeded', 'failed', 'cancelled'];

export const toolCallErrorSchema = z.object({
  /** Stable code: BROKER_* from the catalog, or TOOL_ERROR for an `isError` result. */
  code: z.string(),
  message: z.string(),
  /** Whether the broker gave up after retries (dead letter) rather than a permanent failure. */
  deadLettered: z.boolean().optional(),
});

/** The persisted state of one tool call (Cosmos container `toolCalls`, partition key `/caller`). */
export const toolCallRecordSchema = z.object({
  id: z.string(),
  caller: z.string(),
  endpoint: z.string(),
  tool: z.string(),
  /** sha256 of the canonical request body, to tell a replay from a conflicting reuse of a key. */
  fingerprint: z.string(),
  idempotencyKey: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  source: toolCallSourceSchema,
  correlation: toolCallRequestSchema.shape.correlation,
  status: toolCallStatusSchema,
  history: z.array(z.object({ status: toolCallStatusSchema, at: z.iso.datetime(), note: z.string().optional() })),
  progress: z.object({ progress: z.number(), total: z.number().optional(), message: z.string().optional() }).optional(),
  result: z.unknown().optional(),
  error: toolCallErrorSchema.optional(),
  attempts: z.number().int().nonnegative(),
  cancelRequested: z.boolean().optional(),
  /** How many times the endpoint answered 429 for this call (bounded, so 429 forever cannot loop forever). */
  rateLimitWaits: z.number().int().nonnegative().optional(),
  /** How many times the call was replayed from the dead letters; part of every job id. */
  replays: z.number().int().nonnegative().optional(),
  deliveries: z.array(deliverySchema),
  /** Deliveries still pending or being attempted, kept by the repository on every write (for the reconcile sweep's query). */
  deliveriesLeft: z.number().int().nonnegative().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  completedAt: z.iso.datetime().optional(),
  /** Cosmos per-item TTL (retention). */
  ttl: z.number().int().positive().optional(),
});
export type ToolCallRecord = z.infer<typeof toolCallRecordSchema>;

/**
 * Job payloads on the queues: ids; the record in Cosmos is the source of truth. A new call's job
 * also carries the record as created with its ETag, so the worker's first write needs no read: the
 * write is conditional on that ETag, so a record changed since (a cancel) fails it and is read.
 * Only records up to 16 KiB of JSON travel so (`MAX_CARRIED_RECORD_CHARS`), and a failed job drops
 * the copy, so Redis never keeps large arguments nor keeps any for the days failed jobs are kept.
 */
export const toolCallJobSchema = z.object({
  callId: z.string(),
  caller: z.string(),
  created: z.object({ record: toolCallRecordSchema, etag: z.string() }).optional(),
});
export type ToolCallJob = z.infer<typeof toolCallJobSchema>;
export const writeBackJobSchema = z.object({
  callId: z.string(),
  caller: z.string(),
  target: z.number().int().min(0),
  /** The record's replay generation the delivery belongs to. */
  replays: z.number().int().nonnegative().default(0),
});
export type WriteBackJob = z.input<typeof writeBackJobSchema>;

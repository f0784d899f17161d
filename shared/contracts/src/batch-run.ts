import { z } from 'zod';

// Batch enrichment (docs/batch-enrichment.md): the run record kept in Cosmos (`batchRuns`,
// partition key `/caller`), the job payloads, and the API's views of schedules and runs. The API
// schemas follow the same rules as tool-call-api.ts (plain objects, enums, date-time timestamps),
// since they land in the same OpenAPI document.

const timestamp = () => z.string().meta({ format: 'date-time' });

/**
 * `queued`: recorded, waiting to start (or, with overlap `wait`, for the previous run to end).
 * `skipped`: a tick that found the previous run still going (overlap `skip`); never ran.
 * `succeeded`: every selected record was called and written back (some calls may have failed:
 * the counts say so). `failed`: the run itself could not go on (the source refused the query).
 */
export const batchRunStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped']);
export type BatchRunStatus = z.infer<typeof batchRunStatusSchema>;
export const finalBatchRunStatuses: readonly BatchRunStatus[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

/** Where a run is: selecting pages and handing records in, waiting for calls, writing back, done. */
export const batchRunPhaseSchema = z.enum(['selecting', 'draining', 'counting', 'writing-back', 'done']);
export type BatchRunPhase = z.infer<typeof batchRunPhaseSchema>;

export const batchRunCountsSchema = z.object({
  /** Records read from the source and handed to the broker (at most the schedule's maxRecords). */
  selected: z.number().int().nonnegative(),
  /** Records whose call was accepted (queued, or found from an earlier attempt of this run). */
  called: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Records not called: refused before running, or cancelled with the run. */
  skipped: z.number().int().nonnegative(),
  /** Records written back to the target. */
  writtenBack: z.number().int().nonnegative(),
  /** Records the target refused (Salesforce's error counted under errorsByCode). */
  writeBackFailed: z.number().int().nonnegative(),
});
export type BatchRunCounts = z.infer<typeof batchRunCountsSchema>;

export const emptyBatchRunCounts: BatchRunCounts = {
  selected: 0,
  called: 0,
  succeeded: 0,
  failed: 0,
  skipped: 0,
  writtenBack: 0,
  writeBackFailed: 0,
};

/** One record the write-back target refused (the first 100 of a run are kept). */
export const batchWriteBackFailureSchema = z.object({
  recordId: z.string(),
  code: z.string(),
  message: z.string(),
});

/** The persisted state of one batch run (Cosmos container `batchRuns`, partition key `/caller`). */
export const batchRunRecordSchema = z.object({
  id: z.string(),
  schedule: z.string(),
  caller: z.string(),
  status: batchRunStatusSchema,
  phase: batchRunPhaseSchema,
  /** `schedule`: a tick of the job scheduler; `api`: started with POST /v1/schedules/{id}/runs. */
  startedBy: z.enum(['schedule', 'api']),
  /** The tick's time (scheduled runs) or the request's idempotency key (API runs), from which the id derives. */
  startKey: z.string(),
  counts: batchRunCountsSchema,
  /**
   * Checkpoint: the source's opaque cursor of the page being handed in (absent: the first page),
   * and how many of that page's records are already handed in. A resumed run reads the page again
   * and skips those; a record handed in twice is the same call (its idempotency key).
   */
  cursor: z.string().optional(),
  pageOffset: z.number().int().nonnegative().default(0),
  /** Checkpoint of the write-back: the last call id (in id order) whose chunk was written. */
  writeBackAfter: z.string().optional(),
  /** Records skipped before any call, because the recordId or arguments expression failed on them. */
  invalidRecords: z.number().int().nonnegative().default(0),
  errorsByCode: z.record(z.string(), z.number().int().nonnegative()),
  writeBackFailures: z.array(batchWriteBackFailureSchema).max(100).default([]),
  /** Why the run failed, or was skipped or cancelled. */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  cancelRequested: z.boolean().optional(),
  requestId: z.string().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  completedAt: z.iso.datetime().optional(),
  /** Cosmos per-item TTL (retention), as for tool-call records. */
  ttl: z.number().int().positive().optional(),
});
export type BatchRunRecord = z.infer<typeof batchRunRecordSchema>;

/** Jobs on the batch queue: a tick of a schedule's job scheduler, or one run (ids only). */
export const batchTickJobSchema = z.object({ schedule: z.string() });
export type BatchTickJob = z.infer<typeof batchTickJobSchema>;
export const batchRunJobSchema = z.object({ runId: z.string(), caller: z.string() });
export type BatchRunJob = z.infer<typeof batchRunJobSchema>;

// --- API views ---

const runSummarySchema = z.object({
  id: z.string(),
  status: batchRunStatusSchema,
  createdAt: timestamp(),
  completedAt: timestamp().optional(),
});

export const scheduleViewSchema = z.object({
  id: z.string(),
  enabled: z.boolean(),
  cron: z.string().optional(),
  timeZone: z.string(),
  everySeconds: z.number().int().optional(),
  tool: z.string(),
  sourceKind: z.enum(['salesforce-soql', 'cosmos-query']),
  overlap: z.enum(['skip', 'wait']),
  concurrency: z.number().int(),
  callsPerMinute: z.number().int(),
  maxRecords: z.number().int(),
  /** When the job scheduler fires next (absent for a disabled schedule). */
  nextRunAt: timestamp().optional(),
  lastRun: runSummarySchema.optional(),
});
export type ScheduleView = z.infer<typeof scheduleViewSchema>;

export const scheduleListSchema = z.object({ items: z.array(scheduleViewSchema) });

export const batchRunViewSchema = z.object({
  id: z.string(),
  schedule: z.string(),
  status: batchRunStatusSchema,
  phase: batchRunPhaseSchema,
  startedBy: z.enum(['schedule', 'api']),
  counts: batchRunCountsSchema,
  /** Share of the selected records whose call is final, 0–1 (while the run goes on). */
  progress: z.number().min(0).max(1),
  /** How many records failed with each code (calls and write-backs), most frequent first. */
  errorsByCode: z.array(z.object({ code: z.string(), count: z.number().int() })),
  writeBackFailures: z.array(batchWriteBackFailureSchema),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  createdAt: timestamp(),
  startedAt: timestamp().optional(),
  completedAt: timestamp().optional(),
  /** completedAt − startedAt, in ms, once final. */
  durationMs: z.number().int().optional(),
  statusUrl: z.string(),
});
export type BatchRunView = z.infer<typeof batchRunViewSchema>;

/** POST /v1/schedules/{id}/runs: the idempotency key may travel in the body (External Services renames hyphenated headers). */
export const startBatchRunBodySchema = z.object({
  idempotencyKey: z.string().min(1).max(255).optional().describe('One value per logical start.'),
});

export const batchRunAcceptedSchema = z.object({
  id: z.string(),
  status: batchRunStatusSchema,
  statusUrl: z.string(),
});

import { z } from 'zod';

/** The job events a notification destination of type Webhook sends. */
export const databricksWebhookEventTypes = [
  'jobs.on_start',
  'jobs.on_success',
  'jobs.on_failure',
  'jobs.on_duration_warning_threshold_exceeded',
  'jobs.on_streaming_backlog_exceeded',
] as const;

// Databricks ids are 64-bit integers; a payload may carry one as a number or as a string of digits.
const databricksId = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/, 'digits')])
  .transform(String);

/**
 * A job notification as a workspace posts it. Unknown extra fields are kept (Databricks adds
 * fields over time); a missing or mistyped known field is refused, naming it.
 */
export const databricksWebhookSchema = z.looseObject({
  event_type: z.enum(databricksWebhookEventTypes),
  workspace_id: databricksId,
  run: z.looseObject({
    run_id: databricksId,
    /** Set on a task-level notification: the job run the task run belongs to. */
    parent_run_id: databricksId.optional(),
  }),
  job: z.looseObject({ job_id: databricksId, name: z.string().max(4096) }),
  /** Set on a task-level notification. */
  task: z.looseObject({ task_key: z.string().min(1).max(100) }).optional(),
});
export type DatabricksWebhook = z.output<typeof databricksWebhookSchema>;

/**
 * The doorbell job ingress queues for the worker: which source rang, the validated webhook, and
 * the request it came with. The worker fetches the run itself; nothing else is trusted.
 */
export const databricksDoorbellJobSchema = z.object({
  source: z.string(),
  webhook: z.object({
    event_type: z.enum(databricksWebhookEventTypes),
    workspace_id: z.string(),
    run: z.object({ run_id: z.string(), parent_run_id: z.string().optional() }),
    job: z.object({ job_id: z.string(), name: z.string() }),
    task: z.object({ task_key: z.string() }).optional(),
  }),
  requestId: z.string(),
  traceparent: z.string().optional(),
  receivedAt: z.iso.datetime(),
});
export type DatabricksDoorbellJob = z.infer<typeof databricksDoorbellJobSchema>;

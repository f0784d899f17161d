import { z } from 'zod';

/** The longest an http-callback target may ask the broker to wait for its answer, in ms. */
export const MAX_CALLBACK_TIMEOUT_MS = 120_000;

/** Where a tool call's result is delivered. One job (and one delivery record) per target. */
export const httpCallbackTargetSchema = z.object({
  type: z.literal('http-callback'),
  /** HTTPS URL on the caller's allowlist of callback hosts. */
  url: z.url().max(2048).describe("Callback URL; its host must be on the caller's allowlist."),
  /**
   * How long the receiver may take to answer one delivery, in ms (default 10,000). An attempt cut
   * off sooner than the receiver takes is sent again, so set it above the receiver's slowest answer.
   */
  timeoutMs: z
    .number()
    .int()
    .min(1000)
    .max(MAX_CALLBACK_TIMEOUT_MS)
    .optional()
    .describe(`How long the receiver may take to answer, 1000–${MAX_CALLBACK_TIMEOUT_MS} ms (default 10,000).`),
});

const orgId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
  .describe('Connected org id from the configuration (`salesforce.orgs[].id`).');
const sobjectName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'an sObject API name');
const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'a field API name');
const salesforceId = z.string().regex(/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/, 'a 15- or 18-character Salesforce id');

/**
 * Update fields of a Salesforce record from the result. Each field's value is a JSONata expression
 * evaluated over `{ status, tool, result, structuredContent, text, error, call }`.
 */
export const salesforceRecordTargetSchema = z.object({
  type: z.literal('salesforce-record'),
  org: orgId,
  sobject: sobjectName.describe('sObject API name, e.g. Opportunity.'),
  recordId: salesforceId.describe('The record to update.'),
  fields: z
    .record(fieldName, z.string().min(1).max(2000))
    .refine((fields) => Object.keys(fields).length > 0 && Object.keys(fields).length <= 50, '1 to 50 fields')
    .describe('Field API name → JSONata expression over the outcome.'),
});

/** Upsert an `MCP_Result__c` record by the external id `Request_Id__c`. */
export const salesforceResultTargetSchema = z.object({
  type: z.literal('salesforce-result'),
  org: orgId,
  /** Request id written to `Request_Id__c` (default: the call's idempotency key). */
  requestId: z.string().min(1).max(255).optional(),
  /** Record the result relates to (`Related_Record_Id__c`). */
  relatedRecordId: salesforceId.optional(),
});

/** Publish an `MCP_Tool_Result__e` platform event for Flows and Apex waiting on the result. */
export const salesforceEventTargetSchema = z.object({
  type: z.literal('salesforce-event'),
  org: orgId,
  /** Request id carried in `Request_Id__c` (default: the call's idempotency key). */
  requestId: z.string().min(1).max(255).optional(),
  /** Record id carried in `Record_Id__c`. */
  relatedRecordId: salesforceId.optional(),
});

/**
 * Merge the call's outcome into a Delta table through a Databricks SQL warehouse (the Statement
 * Execution API), keyed by the call id: a repeated delivery updates the same row.
 */
export const databricksSqlTargetSchema = z.object({
  type: z.literal('databricks-sql'),
  workspace: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .describe('Workspace id from the configuration (`databricks.workspaces[].id`).'),
  warehouseId: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'a SQL warehouse id')
    .describe('The SQL warehouse that runs the MERGE.'),
  table: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}(\.[A-Za-z_][A-Za-z0-9_]{0,254}){2}$/, 'catalog.schema.table')
    .describe('The Delta table, catalog.schema.table (docs/databricks.md lists its columns).'),
});

/**
 * Publish the outcome as a CloudEvent (`<prefix>.toolcall.succeeded` / `.failed`) to a configured
 * Event Grid custom topic or namespace topic. The event id derives from the call, so a retried
 * publish carries the same id.
 */
export const eventGridTargetSchema = z.object({
  type: z.literal('event-grid'),
  topic: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .describe('Topic id from the configuration (`eventGrid.topics[].id`).'),
  subject: z.string().min(1).max(1024).optional().describe('CloudEvents subject (default: the call id).'),
});

/**
 * Send the outcome as a message to a Service Bus queue or topic named in the configuration
 * (`serviceBus.targets[]`): messageId derived from the call, correlationId = the request's id,
 * subject and application properties (caller, tool, status) for subscription filters.
 */
export const serviceBusTargetSchema = z.object({
  type: z.literal('service-bus'),
  destination: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a target id')
    .describe('Service Bus target id from the configuration (`serviceBus.targets[].id`).'),
  subject: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('The message subject (default `toolcall.succeeded` / `toolcall.failed` …).'),
});

export const writeBackTargetSchema = z.discriminatedUnion('type', [
  httpCallbackTargetSchema,
  salesforceRecordTargetSchema,
  salesforceResultTargetSchema,
  salesforceEventTargetSchema,
  databricksSqlTargetSchema,
  eventGridTargetSchema,
  serviceBusTargetSchema,
]);
export type WriteBackTarget = z.infer<typeof writeBackTargetSchema>;

/** Every kind of write-back target, read off the union so a new kind is listed wherever this is used. */
export const writeBackTargetTypes = writeBackTargetSchema.options.map((o) => o.shape.type.value) as [
  WriteBackTarget['type'],
  ...WriteBackTarget['type'][],
];
export type EventGridTarget = z.infer<typeof eventGridTargetSchema>;
export type HttpCallbackTarget = z.infer<typeof httpCallbackTargetSchema>;
export type SalesforceRecordTarget = z.infer<typeof salesforceRecordTargetSchema>;
export type SalesforceResultTarget = z.infer<typeof salesforceResultTargetSchema>;
export type SalesforceEventTarget = z.infer<typeof salesforceEventTargetSchema>;
export type SalesforceTarget = SalesforceRecordTarget | SalesforceResultTarget | SalesforceEventTarget;
export type DatabricksSqlTarget = z.infer<typeof databricksSqlTargetSchema>;
export type ServiceBusTarget = z.infer<typeof serviceBusTargetSchema>;

/**
 * `attempting`: an attempt was recorded as started and has not been recorded as ended. A job that
 * finds it so after a crash cannot know whether the target received it, and counts that attempt
 * as unconfirmed.
 */
export const deliveryStatusSchema = z.enum(['pending', 'attempting', 'delivered', 'failed']);

/** The delivery state of one write-back target, kept on the tool-call record. */
export const deliverySchema = z.object({
  target: writeBackTargetSchema,
  status: deliveryStatusSchema,
  /** Every attempt started, counted before it is sent (so one cut short by a crash counts too). */
  attempts: z.number().int().nonnegative(),
  /**
   * Attempts whose outcome the broker never learned (the worker died during it, or it timed out
   * after the request was sent): each may have reached the target. On a delivered target, more
   * than 0 means the target may have received it more than once, always with the same
   * Idempotency-Key.
   */
  unconfirmedAttempts: z.number().int().nonnegative().optional(),
  /** When the attempt in progress (status `attempting`) or the last one started. */
  attemptStartedAt: z.iso.datetime().optional(),
  lastError: z.object({ code: z.string(), message: z.string() }).optional(),
  deliveredAt: z.iso.datetime().optional(),
  /** Target-specific receipt (e.g. the callback's HTTP status). */
  receipt: z.record(z.string(), z.unknown()).optional(),
});
export type Delivery = z.infer<typeof deliverySchema>;

import { z } from 'zod';
import { toolCallStatusSchema } from './tool-call.ts';
import { writeBackTargetTypes } from './write-back-target.ts';

// These schemas generate the OpenAPI 3.0 document Salesforce External Services imports: plain
// objects and enums only (External Services rejects oneOf in request bodies), names that stay Apex
// identifiers (no reserved words such as type, limit or sObject), typed values (no Object or Map)
// and date-time timestamps. Fields kept only for existing clients are `wireOnly`: accepted and sent
// as before, but left out of the document (test/infra/external-services-import.int.test.ts).

/** Marks a field the API accepts or sends for existing clients but leaves out of the OpenAPI document. */
export function wireOnly<T extends z.ZodType>(schema: T): T {
  return schema.meta({ 'x-wire-only': true }) as T;
}

/** An ISO 8601 timestamp, typed `format: date-time` so External Services maps it to Datetime. */
const timestamp = () => z.string().meta({ format: 'date-time' });

const writeBackKinds = writeBackTargetTypes;

// One flat object for every kind of target (External Services rejects oneOf): the fields a kind
// needs are checked against its own schema (write-back-target.ts) at submission.
export const apiWriteBackTargetSchema = z
  .object({
    kind: z.enum(writeBackKinds).optional().describe('Target kind (required; `type` is accepted as its old name).'),
    type: wireOnly(z.enum(writeBackKinds).optional()),
    url: z.string().max(2048).optional().describe("http-callback: callback URL (https, on the caller's allowlist)."),
    timeoutMs: z
      .number()
      .int()
      .optional()
      .describe('http-callback: how long the receiver may take to answer, 1000–120000 ms (default 10000).'),
    org: z.string().max(63).optional().describe('salesforce-*: connected org id from the broker configuration.'),
    objectApiName: z
      .string()
      .max(80)
      .optional()
      .describe('salesforce-record: sObject API name, e.g. Opportunity (`sobject` is accepted as its old name).'),
    sobject: wireOnly(z.string().max(80).optional()),
    recordId: z.string().max(18).optional().describe('salesforce-record: id of the record to update.'),
    fieldMappings: z
      .array(
        z.object({
          field: z.string().min(1).max(80).describe('Field API name, e.g. Contract_URL__c.'),
          expression: z.string().min(1).max(2048).describe('JSONata expression over the outcome.'),
        }),
      )
      .max(100)
      .optional()
      .describe('salesforce-record: the fields to set (`fields`, a map of field → expression, is accepted too).'),
    fields: wireOnly(z.record(z.string(), z.string()).optional()),
    requestId: z
      .string()
      .max(255)
      .optional()
      .describe('salesforce-result/event: Request_Id__c (default: the Idempotency-Key).'),
    relatedRecordId: z.string().max(18).optional().describe('salesforce-result/event: the record the result is about.'),
    workspace: z.string().max(63).optional().describe('databricks-sql: workspace id from the broker configuration.'),
    warehouseId: z.string().max(64).optional().describe('databricks-sql: the SQL warehouse that runs the MERGE.'),
    table: z.string().max(767).optional().describe('databricks-sql: the Delta table, catalog.schema.table.'),
    topic: z
      .string()
      .max(63)
      .optional()
      .describe('event-grid: topic id from the broker configuration (eventGrid.topics[].id).'),
    subject: z.string().max(1024).optional().describe('event-grid: the CloudEvent subject (default: the call id).'),
    destination: z
      .string()
      .max(63)
      .optional()
      .describe(
        'service-bus: target id from the broker configuration (serviceBus.targets[].id); `subject` sets the message subject.',
      ),
  })
  .describe('Where to deliver the result.');
export type ApiWriteBackTarget = z.infer<typeof apiWriteBackTargetSchema>;

export const createToolCallBodySchema = z
  .object({
    tool: z.string().min(1).max(128).describe('Tool name, as the MCP endpoint lists it.'),
    arguments: wireOnly(z.record(z.string(), z.unknown()).optional()),
    argumentsJson: z
      .string()
      .max(1024 * 1024)
      .optional()
      .describe(
        'The tool\'s arguments as a JSON object in a string, e.g. {"customer_id":"C-1"} (or send `arguments` as an object).',
      ),
    idempotencyKey: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('One value per logical call; the same as the Idempotency-Key header, which may be sent instead.'),
    writeBack: z.array(apiWriteBackTargetSchema).max(10).default([]).describe('Delivery targets for the result.'),
  })
  .describe('A tool call to run asynchronously on the caller’s behalf.');
export type CreateToolCallBody = z.infer<typeof createToolCallBodySchema>;

export const toolCallAcceptedSchema = z.object({
  id: z.string(),
  status: toolCallStatusSchema,
  statusUrl: z.string().describe('Where to poll the call: the same URL as the Location header.'),
});

export const deliveryViewSchema = z.object({
  kind: z.string().describe('Target kind.'),
  type: wireOnly(z.string().optional()),
  url: z.string().optional(),
  org: z.string().optional(),
  objectApiName: z.string().optional(),
  sobject: wireOnly(z.string().optional()),
  recordId: z.string().optional(),
  status: z
    .enum(['pending', 'attempting', 'delivered', 'failed'])
    .describe('attempting: an attempt has started and its outcome is not recorded yet.'),
  attempts: z.number().int().describe('Attempts started, each counted before it is sent.'),
  unconfirmedAttempts: z
    .number()
    .int()
    .optional()
    .describe(
      'Attempts whose outcome the broker never learned (a crash or timeout after sending): each may have reached the target, with the same Idempotency-Key.',
    ),
  deliveredAt: timestamp().optional(),
  lastError: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const toolCallViewSchema = z.object({
  id: z.string(),
  tool: z.string(),
  status: toolCallStatusSchema,
  progress: z.object({ progress: z.number(), total: z.number().optional(), message: z.string().optional() }).optional(),
  result: wireOnly(z.unknown().optional()),
  resultJson: z
    .string()
    .optional()
    .describe(
      "The tool's result as JSON text: its structuredContent, or the whole MCP CallToolResult when it has none.",
    ),
  resultText: z.string().optional().describe("The text content of the tool's result, joined by new lines."),
  isError: z.boolean().optional().describe('The tool reported an error in its result.'),
  error: z.object({ code: z.string(), message: z.string(), deadLettered: z.boolean().optional() }).optional(),
  attempts: z.number().int(),
  createdAt: timestamp(),
  updatedAt: timestamp(),
  startedAt: timestamp().optional(),
  completedAt: timestamp().optional(),
  deliveries: z.array(deliveryViewSchema),
  requestId: z.string(),
  source: z
    .object({ kind: z.string(), reference: z.string().optional() })
    .optional()
    .describe('Where the call came from: api, or salesforce with <org>/<channel>/<replayId>.'),
});
export type ToolCallView = z.infer<typeof toolCallViewSchema>;

export const toolCallListSchema = z.object({
  items: z.array(toolCallViewSchema),
  nextPageToken: z.string().optional().describe('Pass as pageToken for the next page.'),
});

export const apiErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    details: wireOnly(z.record(z.string(), z.unknown()).optional()),
  }),
});

export const deadLetterListSchema = z.object({
  items: z.array(toolCallViewSchema.extend({ caller: z.string().describe('The caller the call belongs to.') })),
  nextPageToken: z.string().optional().describe('Pass as pageToken for the next page.'),
});

export const replayDeadLettersBodySchema = z
  .object({
    caller: z.string().min(1).max(63).describe('Replay this caller’s dead letters.'),
    maxCalls: z.number().int().min(1).max(100).default(100).describe('At most this many per request (max 100).'),
    before: z.iso
      .datetime()
      .optional()
      .describe('Only calls dead-lettered before this time; send the before of the previous answer to continue.'),
  })
  .describe('Replay of a caller’s dead letters.');

export const replayDeadLettersResultSchema = z.object({
  replayed: z.number().int().describe('Calls queued again by this request.'),
  skipped: z.number().int().describe('Calls replayed by someone else meanwhile.'),
  replayedIds: z.array(z.string()),
  more: z.boolean().describe('More dead letters older than before remain: send the request again with before.'),
  before: timestamp().describe('The horizon of this sweep; repeat with it until more is false.'),
});

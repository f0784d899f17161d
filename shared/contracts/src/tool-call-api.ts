import { z } from 'zod';
import { toolCallStatusSchema } from './tool-call.ts';

// These schemas generate the OpenAPI 3.0 document Salesforce External Services imports: plain
// objects and enums only (External Services rejects oneOf in request bodies).

// One flat object for every kind of target (External Services rejects oneOf): the fields a kind
// needs are checked against its own schema (write-back-target.ts) at submission.
export const apiWriteBackTargetSchema = z
  .object({
    type: z
      .enum(['http-callback', 'salesforce-record', 'salesforce-result', 'salesforce-event'])
      .describe('Target kind.'),
    url: z.string().max(2048).optional().describe("http-callback: callback URL (https, on the caller's allowlist)."),
    org: z.string().max(63).optional().describe('salesforce-*: connected org id from the broker configuration.'),
    sobject: z.string().max(80).optional().describe('salesforce-record: sObject API name, e.g. Opportunity.'),
    recordId: z.string().max(18).optional().describe('salesforce-record: id of the record to update.'),
    fields: z
      .record(z.string(), z.string())
      .optional()
      .describe('salesforce-record: field API name → JSONata expression over the outcome.'),
    requestId: z
      .string()
      .max(255)
      .optional()
      .describe('salesforce-result/event: Request_Id__c (default: the Idempotency-Key).'),
    relatedRecordId: z.string().max(18).optional().describe('salesforce-result/event: the record the result is about.'),
  })
  .describe('Where to deliver the result.');
export type ApiWriteBackTarget = z.infer<typeof apiWriteBackTargetSchema>;

export const createToolCallBodySchema = z
  .object({
    tool: z.string().min(1).max(128).describe('Tool name, as the MCP endpoint lists it.'),
    arguments: z.record(z.string(), z.unknown()).default({}).describe("The tool's arguments."),
    writeBack: z.array(apiWriteBackTargetSchema).max(10).default([]).describe('Delivery targets for the result.'),
  })
  .describe('A tool call to run asynchronously on the caller’s behalf.');
export type CreateToolCallBody = z.infer<typeof createToolCallBodySchema>;

export const toolCallAcceptedSchema = z.object({
  id: z.string(),
  status: toolCallStatusSchema,
  statusUrl: z.string(),
});

export const deliveryViewSchema = z.object({
  type: z.string(),
  url: z.string().optional(),
  org: z.string().optional(),
  sobject: z.string().optional(),
  recordId: z.string().optional(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  deliveredAt: z.string().optional(),
  lastError: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const toolCallViewSchema = z.object({
  id: z.string(),
  tool: z.string(),
  status: toolCallStatusSchema,
  progress: z.object({ progress: z.number(), total: z.number().optional(), message: z.string().optional() }).optional(),
  result: z.unknown().optional().describe('The MCP CallToolResult (structuredContent and content).'),
  error: z.object({ code: z.string(), message: z.string(), deadLettered: z.boolean().optional() }).optional(),
  attempts: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
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
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const deadLetterListSchema = z.object({
  items: z.array(toolCallViewSchema.extend({ caller: z.string().describe('The caller the call belongs to.') })),
  nextPageToken: z.string().optional().describe('Pass as pageToken for the next page.'),
});

export const replayDeadLettersBodySchema = z
  .object({
    caller: z.string().min(1).max(63).describe('Replay this caller’s dead letters.'),
    limit: z.number().int().min(1).max(100).default(100).describe('At most this many per request (max 100).'),
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
  before: z.string().describe('The horizon of this sweep (ISO 8601); repeat with it until more is false.'),
});

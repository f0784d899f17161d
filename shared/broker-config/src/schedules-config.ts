import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { configIdSchema } from './config-id.ts';
import { jsonataExpressionSchema } from './jsonata-expression.ts';

const id = configIdSchema;
const sobjectName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'an sObject API name');
const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'a field API name');

const expression = jsonataExpressionSchema;

/** Salesforce SOQL through the org connection, page by page (`nextRecordsUrl`). */
export const soqlSourceSchema = z.strictObject({
  type: z.literal('salesforce-soql'),
  /** Connected org id (`salesforce.orgs[].id`); it must belong to the schedule's caller. */
  org: id,
  /** The SOQL query; its records must carry `Id` (or set `recordId`). */
  query: z.string().min(1).max(20_000),
  /**
   * Above this many records (the REST query's totalSize), read them from a Bulk API 2.0 query job
   * instead (CSV results by locator: values arrive as strings). Default: always the REST query.
   */
  bulkAbove: z.number().int().min(1).optional(),
});

/** A Cosmos DB SQL query over one of the store's containers, page by page (continuation token). */
export const cosmosQuerySourceSchema = z.strictObject({
  type: z.literal('cosmos-query'),
  /** Container name in the broker's store (e.g. `accounts`). */
  container: z.string().min(1).max(255),
  query: z.string().min(1).max(20_000),
  /** Values for `@name` parameters in the query. */
  parameters: z.record(z.string().regex(/^@[A-Za-z_][A-Za-z0-9_]*$/), z.unknown()).default({}),
});

export const batchSourceConfigSchema = z.discriminatedUnion('type', [soqlSourceSchema, cosmosQuerySourceSchema]);
export type BatchSourceConfig = z.infer<typeof batchSourceConfigSchema>;

/**
 * Write the results back to Salesforce records in chunks (SObject Collections, `allOrNone: false`):
 * one record's failure is recorded with Salesforce's error and does not fail the chunk's others.
 * By Id (an update), or with `externalIdField` by that external id (an upsert: a record is created
 * where none matches).
 */
export const batchWriteBackSchema = z.strictObject({
  type: z.literal('salesforce-record'),
  org: id,
  sobject: sobjectName,
  /**
   * The record to write, JSONata over the outcome (as `fields`) with `$recordId` bound to the
   * source record's id: its Salesforce Id, or with `externalIdField` the value of that field.
   * Default `$recordId`.
   */
  recordId: expression.default('$recordId'),
  /**
   * An external id field of `sobject` (e.g. `Customer_Key__c`): upsert by it instead of updating
   * by Id. SObject Collections upsert and Bulk API 2.0 `upsert` jobs (`externalIdFieldName`); the
   * value is `recordId`'s. Default: update by Id.
   */
  externalIdField: fieldName.optional(),
  /** Field API name → JSONata over `{ status, tool, result, structuredContent, text, error, call }`. */
  fields: z
    .record(fieldName, expression)
    .refine((fields) => Object.keys(fields).length > 0 && Object.keys(fields).length <= 50, '1 to 50 fields'),
  /** Records per SObject Collections request, 1–200 (Salesforce's limit). Default 200. */
  chunkSize: z.number().int().min(1).max(200).default(200),
  /** Write back failed calls too (the mapping sees `status` and `error`). Default false: only succeeded ones. */
  includeFailed: z.boolean().default(false),
  /**
   * Above this many records to write, use Bulk API 2.0 ingest jobs (`update`, or `upsert` with
   * `externalIdField`) of `bulkJobSize`
   * records instead of SObject Collections. Default: always SObject Collections.
   */
  bulkAbove: z.number().int().min(1).optional(),
  /** Records per Bulk API 2.0 ingest job. Default 10,000. */
  bulkJobSize: z.number().int().min(1).max(150_000).default(10_000),
});
export type BatchWriteBackConfig = z.infer<typeof batchWriteBackSchema>;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * A scheduled batch enrichment: on each tick, select records from `source`, call `tool` once per
 * record on `caller`'s identity (its allowlist and limits apply), write the results back.
 */
export const scheduleSchema = z
  .strictObject({
    id,
    /** A disabled schedule has no job scheduler and cannot be started by the API. Default true. */
    enabled: z.boolean().default(true),
    /** Cron expression (5 fields, or 6 with seconds), read in `timeZone`. Exactly one of `cron` and `everySeconds`. */
    cron: z.string().min(1).max(200).optional(),
    /** IANA time zone of `cron`. Default UTC. */
    timeZone: z.string().min(1).max(64).default('UTC'),
    /** Fixed interval instead of a cron expression, in seconds (min 10). */
    everySeconds: z.number().int().min(10).max(31_536_000).optional(),
    /** The configured caller whose identity, allowlist and limits the calls run under. */
    caller: id,
    source: batchSourceConfigSchema,
    /** Tool to call for each record; must be on the caller's allowlist (and, at start, in the endpoint's catalog). */
    tool: z.string().min(1).max(128),
    /** The tool's arguments: JSONata over the source record (an object). `$schedule` and `$run` are bound. */
    arguments: expression,
    /** The record's id (part of its idempotency key): JSONata over the record. Default `Id ? Id : id`. */
    recordId: expression.default('$exists(Id) ? Id : id'),
    writeBack: batchWriteBackSchema.optional(),
    /**
     * At the end of a run (not a skipped tick), publish a platform event with its summary:
     * `Run_Id__c`, `Schedule__c`, `Status__c`, `Counts__c` and `Errors__c` (JSON), `Duration_Ms__c`.
     */
    summaryEvent: z
      .strictObject({
        type: z.literal('salesforce-event'),
        org: id,
        /** Platform event API name. Default `MCP_Batch_Run__e`. */
        event: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9_]*__e$/, 'a platform event API name such as MCP_Batch_Run__e')
          .default('MCP_Batch_Run__e'),
      })
      .optional(),
    /** This schedule's calls running at once (below the caller's, which interactive calls share). Default 2. */
    concurrency: z.number().int().min(1).max(1000).default(2),
    /** This schedule's calls started per minute (never more than the caller's). Default 60. */
    callsPerMinute: z.number().int().min(1).max(100_000).default(60),
    /** Most records one run selects; the rest wait for the next run. Default 10,000. */
    maxRecords: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Records read from the source per page (and checkpointed together). Default 200. */
    pageSize: z.number().int().min(1).max(2000).default(200),
    /** A tick that finds the previous run still going: `skip` records a skipped run; `wait` starts once it ends. */
    overlap: z.enum(['skip', 'wait']).default('skip'),
  })
  .superRefine((schedule, ctx) => {
    if ((schedule.cron === undefined) === (schedule.everySeconds === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'set exactly one of cron and everySeconds' });
    }
    if (!isTimeZone(schedule.timeZone)) {
      ctx.addIssue({ code: 'custom', path: ['timeZone'], message: `unknown time zone "${schedule.timeZone}"` });
    } else if (schedule.cron !== undefined) {
      try {
        CronExpressionParser.parse(schedule.cron, { tz: schedule.timeZone }).next();
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          path: ['cron'],
          message: `not a valid cron expression: ${(error as Error).message}`,
        });
      }
    }
  });
export type ScheduleConfig = z.infer<typeof scheduleSchema>;

export const schedulesSchema = z.array(scheduleSchema).max(500).default([]);

/** What `checkSchedules` needs of the rest of the configuration. */
interface ScheduleContext {
  callers: readonly { id: string; tools: readonly string[]; limits: { concurrency: number; callsPerMinute: number } }[];
  salesforce: { orgs: readonly { id: string; caller: string }[] };
  schedules: readonly ScheduleConfig[];
}

/**
 * The checks that need the rest of the configuration: the caller exists, the tool is on its
 * allowlist, the orgs belong to it, and the schedule leaves the caller room for interactive calls.
 */
export function checkSchedules(config: ScheduleContext, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  config.schedules.forEach((schedule, i) => {
    const at = (...path: (string | number)[]) => ['schedules', i, ...path];
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path: at(...path), message: `schedule "${schedule.id}": ${message}` });
    if (seen.has(schedule.id)) issue(['id'], 'duplicate schedule id');
    seen.add(schedule.id);
    const caller = config.callers.find((c) => c.id === schedule.caller);
    if (!caller) {
      issue(['caller'], `unknown caller "${schedule.caller}"; known: ${config.callers.map((c) => c.id).join(', ')}`);
      return;
    }
    if (!caller.tools.includes('*') && !caller.tools.includes(schedule.tool)) {
      issue(
        ['tool'],
        `tool "${schedule.tool}" is not on caller "${caller.id}"'s allowlist (${caller.tools.join(', ')})`,
      );
    }
    // Batch calls share the caller's queue: leaving a slot and some rate free is what lets an
    // interactive call of the same caller start while a large run goes on.
    if (schedule.concurrency >= caller.limits.concurrency) {
      issue(
        ['concurrency'],
        `${schedule.concurrency} must be below caller "${caller.id}"'s concurrency (${caller.limits.concurrency}), so interactive calls keep a slot`,
      );
    }
    if (schedule.callsPerMinute > caller.limits.callsPerMinute) {
      issue(
        ['callsPerMinute'],
        `${schedule.callsPerMinute} exceeds caller "${caller.id}"'s callsPerMinute (${caller.limits.callsPerMinute})`,
      );
    }
    const orgOf = (org: string, path: (string | number)[]) => {
      const found = config.salesforce.orgs.find((o) => o.id === org);
      if (!found || found.caller !== caller.id) {
        const own = config.salesforce.orgs.filter((o) => o.caller === caller.id).map((o) => o.id);
        issue(
          path,
          `no Salesforce org "${org}" is connected for caller "${caller.id}" (connected: ${own.join(', ') || 'none'})`,
        );
      }
    };
    if (schedule.source.type === 'salesforce-soql') orgOf(schedule.source.org, ['source', 'org']);
    if (schedule.writeBack) {
      const { externalIdField, fields } = schedule.writeBack;
      orgOf(schedule.writeBack.org, ['writeBack', 'org']);
      if (externalIdField?.toLowerCase() === 'id') {
        issue(
          ['writeBack', 'externalIdField'],
          'Id is no external id field; leave externalIdField out to update by Id',
        );
      } else if (externalIdField !== undefined) {
        // The match key comes from recordId alone: a second value for it in fields would be
        // ambiguous (which one decides the record?).
        const clash = Object.keys(fields).find((f) => f.toLowerCase() === externalIdField.toLowerCase());
        if (clash !== undefined) {
          issue(
            ['writeBack', 'fields', clash],
            `"${clash}" is the external id field (writeBack.externalIdField): its value comes from writeBack.recordId, not fields`,
          );
        }
      }
    }
    if (schedule.summaryEvent) orgOf(schedule.summaryEvent.org, ['summaryEvent', 'org']);
  });
}

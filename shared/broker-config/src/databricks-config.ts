import { z } from 'zod';
import { configIdSchema } from './config-id.ts';
import { jsonataExpressionSchema } from './jsonata-expression.ts';
import { secretRefSchema } from './secret-ref.ts';

const id = configIdSchema;

const expression = jsonataExpressionSchema;

/** How the broker authenticates to a workspace's REST APIs. */
export const databricksAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /** OAuth machine-to-machine: a service principal's client id and OAuth secret, `{host}/oidc/v1/token`. */
    type: z.literal('oauth-m2m'),
    clientId: z.string().min(1).max(128),
    clientSecret: secretRefSchema,
  }),
  z.strictObject({
    /** A personal (or service principal) access token, for a workspace without OAuth M2M. */
    type: z.literal('token'),
    token: secretRefSchema,
  }),
]);
export type DatabricksAuthConfig = z.infer<typeof databricksAuthSchema>;

export const databricksWorkspaceSchema = z.strictObject({
  /** The broker's name for the workspace (write-back targets name it). */
  id,
  /** The caller whose calls may write to this workspace (databricks-sql targets). */
  caller: id,
  /** The workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net. */
  host: z.url(),
  /** The numeric workspace id webhooks carry (`workspace_id`); when set, a webhook naming another is skipped. */
  workspaceId: z
    .string()
    .regex(/^\d{1,20}$/, 'the numeric workspace id')
    .optional(),
  auth: databricksAuthSchema,
  /** Budget of one REST request, in ms. Default 30,000. */
  requestTimeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
});
export type DatabricksWorkspaceConfig = z.infer<typeof databricksWorkspaceSchema>;

export const databricksEventTypes = [
  'jobs.on_start',
  'jobs.on_success',
  'jobs.on_failure',
  'jobs.on_duration_warning_threshold_exceeded',
  'jobs.on_streaming_backlog_exceeded',
] as const;
export type DatabricksEventType = (typeof databricksEventTypes)[number];

/**
 * One route of a webhook source: which events it takes, and the tool calls each becomes. Every
 * expression is evaluated over `{ webhook, run, task, output, row }` (docs/databricks.md).
 */
export const databricksRouteSchema = z
  .strictObject({
    match: z
      .strictObject({
        /** The webhook's `workspace_id`. */
        workspaceId: z
          .string()
          .regex(/^\d{1,20}$/)
          .optional(),
        jobId: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]).optional(),
        /** Exact job name (`job.name`). */
        jobName: z.string().min(1).max(4096).optional(),
        eventTypes: z.array(z.enum(databricksEventTypes)).min(1).optional(),
      })
      .default({}),
    tool: z.string().min(1).max(128),
    /** JSONata giving the tool's arguments object. */
    arguments: expression,
    /**
     * What one call is made for: the whole `run` (no outputs fetched), each `task` run (its
     * `runs/get-output` fetched; default), or each `row` of the array `rows` gives for a task.
     */
    per: z.enum(['run', 'task', 'row']).default('task'),
    /** With `per: row`: JSONata giving the rows of one task (e.g. `output.json.rows`). */
    rows: expression.optional(),
    /** Task keys to take (default every task of the run). */
    taskKeys: z.array(z.string().min(1).max(100)).min(1).optional(),
    /**
     * A task output the Jobs API cut at 5 MB (`truncated`): `refuse` records the call as failed
     * (`DATABRICKS_OUTPUT_TRUNCATED`, written back); `pass` hands the partial output on.
     */
    truncatedOutput: z.enum(['refuse', 'pass']).default('refuse'),
    /** Most calls one webhook may make through this route. Default 100. */
    maxCalls: z.number().int().min(1).max(1000).default(100),
    /**
     * Write-back targets of every call, checked against the target schemas at submission (e.g.
     * `{ type: databricks-sql, workspace, warehouseId, table }`).
     */
    writeBack: z.array(z.record(z.string(), z.unknown())).max(10).default([]),
  })
  .superRefine((route, ctx) => {
    if (route.per === 'row' && route.rows === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rows'], message: 'per: row needs a rows expression' });
    }
    if (route.per !== 'row' && route.rows !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['rows'], message: 'rows is only used with per: row' });
    }
  });
export type DatabricksRouteConfig = z.infer<typeof databricksRouteSchema>;

/** A notification destination's endpoint: `POST /webhooks/databricks/{id}` with HTTP Basic. */
export const databricksWebhookSourceSchema = z.strictObject({
  id,
  /** The workspace whose Jobs API the broker fetches the run from (`databricks.workspaces[].id`). */
  workspace: id,
  /** The caller whose identity, allowlist and limits the calls run under. */
  caller: id,
  /** The destination's HTTP Basic credentials; the password only as an scrypt hash (`hashPassword`). */
  auth: z.strictObject({
    username: z.string().min(1).max(128),
    passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'an scrypt hash'),
  }),
  routes: z.array(databricksRouteSchema).min(1).max(50),
});
export type DatabricksWebhookSourceConfig = z.infer<typeof databricksWebhookSourceSchema>;

export const databricksConfigSchema = z
  .strictObject({
    workspaces: z.array(databricksWorkspaceSchema).default([]),
    webhookSources: z.array(databricksWebhookSourceSchema).default([]),
  })
  .default({ workspaces: [], webhookSources: [] });
export type DatabricksConfig = z.infer<typeof databricksConfigSchema>;

interface DatabricksContext {
  callers: readonly { id: string; tools: readonly string[] }[];
  databricks: DatabricksConfig;
}

/** The checks that need the rest of the configuration: callers, workspaces and tools exist and belong together. */
export function checkDatabricks(config: DatabricksContext, ctx: z.RefinementCtx): void {
  const callers = new Map(config.callers.map((c) => [c.id, c]));
  const known = [...callers.keys()].join(', ');
  const workspaces = new Map<string, DatabricksWorkspaceConfig>();
  config.databricks.workspaces.forEach((workspace, i) => {
    const at = ['databricks', 'workspaces', i];
    if (workspaces.has(workspace.id)) {
      ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicate workspace id "${workspace.id}"` });
    }
    workspaces.set(workspace.id, workspace);
    if (!callers.has(workspace.caller)) {
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'caller'],
        message: `unknown caller "${workspace.caller}"; known: ${known}`,
      });
    }
  });
  const sources = new Set<string>();
  config.databricks.webhookSources.forEach((source, i) => {
    const at = ['databricks', 'webhookSources', i];
    if (sources.has(source.id)) {
      ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicate webhook source id "${source.id}"` });
    }
    sources.add(source.id);
    if (!workspaces.has(source.workspace)) {
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'workspace'],
        message: `unknown workspace "${source.workspace}"; known: ${[...workspaces.keys()].join(', ') || 'none'}`,
      });
    }
    const caller = callers.get(source.caller);
    if (!caller) {
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'caller'],
        message: `unknown caller "${source.caller}"; known: ${known}`,
      });
      return;
    }
    source.routes.forEach((route, j) => {
      if (!caller.tools.includes('*') && !caller.tools.includes(route.tool)) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'routes', j, 'tool'],
          message: `tool "${route.tool}" is not on caller "${caller.id}"'s allowlist (${caller.tools.join(', ')})`,
        });
      }
    });
  });
}

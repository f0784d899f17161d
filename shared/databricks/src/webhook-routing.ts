import type { DatabricksRouteConfig, DatabricksWebhookSourceConfig } from '@mcp-broker/broker-config';
import type { DatabricksDoorbellJob, FailureCode } from '@mcp-broker/contracts';
import jsonata from 'jsonata';
import type { JobRun, RunOutput, TaskRun } from './jobs-api.ts';

type Webhook = DatabricksDoorbellJob['webhook'];

/** A route of a source, with its place in the source's list (part of every key it makes). */
export interface IndexedRoute {
  route: DatabricksRouteConfig;
  index: number;
}

export function routeMatches(route: DatabricksRouteConfig, webhook: Webhook): boolean {
  const { match } = route;
  if (match.workspaceId !== undefined && match.workspaceId !== webhook.workspace_id) return false;
  if (match.jobId !== undefined && String(match.jobId) !== webhook.job.job_id) return false;
  if (match.jobName !== undefined && match.jobName !== webhook.job.name) return false;
  if (match.eventTypes !== undefined && !match.eventTypes.includes(webhook.event_type)) return false;
  return true;
}

export function matchingRoutes(source: DatabricksWebhookSourceConfig, webhook: Webhook): IndexedRoute[] {
  return source.routes.map((route, index) => ({ route, index })).filter(({ route }) => routeMatches(route, webhook));
}

/**
 * What a delivery is deduplicated on: (workspace, run, event type), and the task for a task-level
 * notification. Databricks retries a delivery it saw fail; the same event always gives this key.
 */
export function doorbellKey(webhook: Webhook): string {
  const base = `databricks:${webhook.workspace_id}:${webhook.run.run_id}:${webhook.event_type}`;
  return webhook.task ? `${base}:${webhook.task.task_key}` : base;
}

/** One tool call a route makes of the run, or the reason it cannot (recorded as a refused call). */
export type PlannedCall =
  | { kind: 'call'; idempotencyKey: string; reference: string; arguments: Record<string, unknown> }
  | { kind: 'refusal'; idempotencyKey: string; reference: string; code: FailureCode; message: string };

/** A task run's output as route expressions see it: the Jobs API answer plus `json`, the parsed notebook result. */
export type TaskOutput = RunOutput & { json?: unknown };

export interface PlanContext {
  webhook: Webhook;
  run: JobRun;
  /** Fetches (once) a task run's output; throws a classified error. */
  outputOf(task: TaskRun): Promise<RunOutput>;
}

const GUARD = { timeout: 1_000, stack: 500 };

class MappingFailure extends Error {}

async function evaluate(source: string, input: Record<string, unknown>, what: string): Promise<unknown> {
  try {
    return await jsonata(source, GUARD).evaluate(input);
  } catch (error) {
    const e = error as { message?: string; position?: number };
    throw new MappingFailure(`${what}: ${e.message ?? String(error)}`);
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSONata gives sequences and objects with its own prototypes; a tool gets plain JSON. */
const plain = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

export function withJson(output: RunOutput): TaskOutput {
  const text = output.notebook_output?.result;
  if (text === undefined || output.notebook_output?.truncated) return output;
  try {
    return { ...output, json: JSON.parse(text) };
  } catch {
    return output;
  }
}

/**
 * The calls one route makes of a fetched run: one for the run (`per: run`), one per task run
 * (`per: task`; only the notified task on a task-level notification), or one per row the `rows`
 * expression gives for each task (`per: row`). Arguments come from the route's JSONata over
 * `{ webhook, run, task, output, row, rowIndex }`. A truncated output (unless the route passes it),
 * a failing expression or more calls than `maxCalls` become refusals, so the failure is recorded
 * and written back instead of lost. Keys extend the doorbell key with the route, task and row.
 */
export async function planCalls(indexed: IndexedRoute, context: PlanContext): Promise<PlannedCall[]> {
  const { route, index } = indexed;
  const { webhook, run } = context;
  const base = `${doorbellKey(webhook)}:r${index}`;
  const reference = `${webhook.workspace_id}/${run.run_id}/${webhook.event_type}`;
  const refusal = (key: string, code: FailureCode, message: string): PlannedCall => ({
    kind: 'refusal',
    idempotencyKey: key,
    reference,
    code,
    message,
  });
  const call = async (key: string, input: Record<string, unknown>, what: string): Promise<PlannedCall> => {
    try {
      const value = plain(await evaluate(route.arguments, input, `arguments (${what})`));
      if (!isPlainObject(value)) {
        return refusal(
          key,
          'DATABRICKS_MAPPING_FAILED',
          `arguments (${what}) gave ${Array.isArray(value) ? 'an array' : typeof value}, not an object.`,
        );
      }
      return { kind: 'call', idempotencyKey: key, reference, arguments: value };
    } catch (error) {
      if (error instanceof MappingFailure) return refusal(key, 'DATABRICKS_MAPPING_FAILED', error.message);
      throw error;
    }
  };

  if (route.per === 'run') return [await call(base, { webhook, run }, 'run')];

  const tasks = (run.tasks ?? []).filter(
    (t) =>
      (webhook.task === undefined || t.task_key === webhook.task.task_key) &&
      (route.taskKeys === undefined || route.taskKeys.includes(t.task_key)),
  );
  const planned: PlannedCall[] = [];
  for (const task of tasks) {
    const key = `${base}:${task.task_key}`;
    const output = withJson(await context.outputOf(task));
    if (output.notebook_output?.truncated && route.truncatedOutput === 'refuse') {
      planned.push(
        refusal(
          key,
          'DATABRICKS_OUTPUT_TRUNCATED',
          `The output of task "${task.task_key}" (task run ${task.run_id}) passed the Jobs API's 5 MB and was truncated.`,
        ),
      );
      continue;
    }
    const input = { webhook, run, task, output };
    if (route.per === 'task') {
      planned.push(await call(key, input, `task ${task.task_key}`));
      continue;
    }
    let rows: unknown;
    try {
      rows = plain(await evaluate(route.rows ?? '[]', input, `rows (task ${task.task_key})`));
    } catch (error) {
      if (!(error instanceof MappingFailure)) throw error;
      planned.push(refusal(key, 'DATABRICKS_MAPPING_FAILED', error.message));
      continue;
    }
    const list = rows === undefined ? [] : Array.isArray(rows) ? rows : [rows];
    for (const [rowIndex, row] of list.entries()) {
      planned.push(
        await call(`${key}:${rowIndex}`, { ...input, row, rowIndex }, `task ${task.task_key} row ${rowIndex}`),
      );
    }
  }
  if (planned.length > route.maxCalls) {
    return [
      refusal(
        base,
        'DATABRICKS_FAN_OUT_EXCEEDED',
        `Route ${index} would make ${planned.length} calls of run ${run.run_id}; its maxCalls is ${route.maxCalls}.`,
      ),
    ];
  }
  return planned;
}

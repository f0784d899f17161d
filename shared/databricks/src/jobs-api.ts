import { DeliveryError } from '@mcp-broker/broker';
import { z } from 'zod';
import type { DatabricksWorkspace } from './databricks-workspace.ts';

// The parts of Jobs API 2.2 answers the broker reads; everything else is kept as it came
// (`looseObject`), so route expressions can use any field.
const stateSchema = z.looseObject({
  life_cycle_state: z.string().optional(),
  result_state: z.string().optional(),
  state_message: z.string().optional(),
});

export const taskRunSchema = z.looseObject({
  run_id: z.number(),
  task_key: z.string(),
  state: stateSchema.optional(),
});
export type TaskRun = z.infer<typeof taskRunSchema>;

export const jobRunSchema = z.looseObject({
  run_id: z.number(),
  job_id: z.number().optional(),
  run_name: z.string().optional(),
  parent_run_id: z.number().optional(),
  task_key: z.string().optional(),
  state: stateSchema.optional(),
  tasks: z.array(taskRunSchema).optional(),
  next_page_token: z.string().optional(),
});
export type JobRun = z.infer<typeof jobRunSchema>;

export const runOutputSchema = z.looseObject({
  notebook_output: z.looseObject({ result: z.string().optional(), truncated: z.boolean().optional() }).optional(),
  error: z.string().optional(),
  error_trace: z.string().optional(),
  metadata: z.looseObject({}).optional(),
});
export type RunOutput = z.infer<typeof runOutputSchema>;

/** Pages of task runs followed at most: 100 tasks a page, so 10,000 tasks. */
const MAX_PAGES = 100;

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new DeliveryError(
    'permanent',
    'DATABRICKS_REQUEST_REFUSED',
    `${what}: the answer is not a Jobs API run (${result.error.issues[0]?.path.join('.') ?? ''}: ${result.error.issues[0]?.message ?? ''}).`,
  );
}

/**
 * `GET /api/2.2/jobs/runs/get` with every task run: Jobs API 2.2 pages `tasks` above 100 elements,
 * so pages are followed with `next_page_token` and their tasks joined.
 */
export async function getRun(workspace: DatabricksWorkspace, runId: string, signal?: AbortSignal): Promise<JobRun> {
  const what = `runs/get of run ${runId}`;
  const get = async (pageToken?: string) =>
    parsed(
      jobRunSchema,
      await workspace.request('GET', '/api/2.2/jobs/runs/get', {
        query: { run_id: runId, ...(pageToken ? { page_token: pageToken } : {}) },
        what,
        ...(signal ? { signal } : {}),
      }),
      what,
    );
  const first = await get();
  const tasks = [...(first.tasks ?? [])];
  let token = first.next_page_token;
  for (let page = 1; token && page < MAX_PAGES; page++) {
    const next = await get(token);
    tasks.push(...(next.tasks ?? []));
    token = next.next_page_token;
  }
  const { next_page_token: _done, ...run } = first;
  return { ...run, ...(first.tasks ? { tasks } : {}) };
}

/** `GET /api/2.2/jobs/runs/get-output` of one task run (a multi-task parent run has no output). */
export async function getRunOutput(
  workspace: DatabricksWorkspace,
  taskRunId: number | string,
  signal?: AbortSignal,
): Promise<RunOutput> {
  const what = `runs/get-output of task run ${taskRunId}`;
  return parsed(
    runOutputSchema,
    await workspace.request('GET', '/api/2.2/jobs/runs/get-output', {
      query: { run_id: String(taskRunId) },
      what,
      ...(signal ? { signal } : {}),
    }),
    what,
  );
}

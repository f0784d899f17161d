import type { DatabricksRouteConfig } from '@mcp-broker/broker-config';
import { describe, expect, it } from 'vitest';
import type { JobRun, RunOutput, TaskRun } from './jobs-api.ts';
import { doorbellKey, planCalls, routeMatches } from './webhook-routing.ts';

const webhook = {
  event_type: 'jobs.on_success' as const,
  workspace_id: '1234',
  run: { run_id: '77' },
  job: { job_id: '9', name: 'nightly' },
};
const route = (over: Partial<DatabricksRouteConfig> = {}): DatabricksRouteConfig => ({
  match: {},
  tool: 'score',
  arguments: '{ "task": task.task_key, "n": output.json.n }',
  per: 'task',
  truncatedOutput: 'refuse',
  maxCalls: 100,
  writeBack: [],
  ...over,
});
const run: JobRun = {
  run_id: 77,
  job_id: 9,
  tasks: [
    { run_id: 701, task_key: 'a' },
    { run_id: 702, task_key: 'b' },
  ],
};
const outputs: Record<number, RunOutput> = {
  701: { notebook_output: { result: '{"n":1,"rows":[{"id":"x"},{"id":"y"}]}', truncated: false } },
  702: { notebook_output: { result: '{"n":2,"rows":[]}', truncated: false } },
};
const context = (over: Partial<Parameters<typeof planCalls>[1]> = {}) => ({
  webhook,
  run,
  outputOf: async (task: TaskRun) => outputs[task.run_id] ?? {},
  ...over,
});

describe('route matching', () => {
  it('matches on workspace, job id or name and event type, all that are given', () => {
    expect(routeMatches(route(), webhook)).toBe(true);
    expect(routeMatches(route({ match: { jobId: 9, jobName: 'nightly', workspaceId: '1234' } }), webhook)).toBe(true);
    expect(routeMatches(route({ match: { jobId: '10' } }), webhook)).toBe(false);
    expect(routeMatches(route({ match: { jobName: 'Nightly' } }), webhook)).toBe(false);
    expect(routeMatches(route({ match: { eventTypes: ['jobs.on_failure'] } }), webhook)).toBe(false);
    expect(routeMatches(route({ match: { workspaceId: '999' } }), webhook)).toBe(false);
  });

  it('keys a delivery on workspace, run and event type, and the task of a task-level notification', () => {
    expect(doorbellKey(webhook)).toBe('databricks:1234:77:jobs.on_success');
    expect(doorbellKey({ ...webhook, run: { run_id: '701', parent_run_id: '77' }, task: { task_key: 'a' } })).toBe(
      'databricks:1234:701:jobs.on_success:a',
    );
  });
});

describe('planning calls', () => {
  it('makes one call per task run, arguments from its output', async () => {
    const calls = await planCalls({ route: route(), index: 0 }, context());
    expect(calls).toEqual([
      expect.objectContaining({
        kind: 'call',
        idempotencyKey: 'databricks:1234:77:jobs.on_success:r0:a',
        arguments: { task: 'a', n: 1 },
      }),
      expect.objectContaining({
        kind: 'call',
        idempotencyKey: 'databricks:1234:77:jobs.on_success:r0:b',
        arguments: { task: 'b', n: 2 },
      }),
    ]);
  });

  it('takes only the notified task of a task-level notification', async () => {
    const taskLevel = { ...webhook, run: { run_id: '702', parent_run_id: '77' }, task: { task_key: 'b' } };
    const calls = await planCalls({ route: route(), index: 1 }, context({ webhook: taskLevel }));
    expect(calls.map((c) => c.idempotencyKey)).toEqual(['databricks:1234:702:jobs.on_success:b:r1:b']);
  });

  it('makes one call per row of a small result', async () => {
    const calls = await planCalls(
      {
        route: route({ per: 'row', rows: 'output.json.rows', arguments: '{ "id": row.id, "i": rowIndex }' }),
        index: 0,
      },
      context(),
    );
    expect(calls.map((c) => (c.kind === 'call' ? c.arguments : c.code))).toEqual([
      { id: 'x', i: 0 },
      { id: 'y', i: 1 },
    ]);
  });

  it('refuses a truncated output unless the route passes it', async () => {
    const truncated = context({ outputOf: async () => ({ notebook_output: { result: '{"n":', truncated: true } }) });
    const refused = await planCalls({ route: route({ taskKeys: ['a'] }), index: 0 }, truncated);
    expect(refused).toEqual([expect.objectContaining({ kind: 'refusal', code: 'DATABRICKS_OUTPUT_TRUNCATED' })]);
    const passed = await planCalls(
      {
        route: route({
          taskKeys: ['a'],
          truncatedOutput: 'pass',
          arguments: '{ "cut": output.notebook_output.truncated }',
        }),
        index: 0,
      },
      truncated,
    );
    expect(passed).toEqual([expect.objectContaining({ kind: 'call', arguments: { cut: true } })]);
  });

  it('refuses arguments that fail or are not an object, and a fan-out beyond maxCalls', async () => {
    const failing = await planCalls({ route: route({ arguments: '$error("no")' }), index: 0 }, context());
    expect(failing.every((c) => c.kind === 'refusal' && c.code === 'DATABRICKS_MAPPING_FAILED')).toBe(true);
    const notObject = await planCalls({ route: route({ arguments: '[1]' }), index: 0 }, context());
    expect(notObject[0]).toMatchObject({ kind: 'refusal', code: 'DATABRICKS_MAPPING_FAILED' });
    const tooMany = await planCalls({ route: route({ maxCalls: 1 }), index: 0 }, context());
    expect(tooMany).toEqual([
      expect.objectContaining({
        code: 'DATABRICKS_FAN_OUT_EXCEEDED',
        idempotencyKey: 'databricks:1234:77:jobs.on_success:r0',
      }),
    ]);
  });

  it('makes one call for the whole run without reading outputs', async () => {
    const calls = await planCalls(
      { route: route({ per: 'run', arguments: '{ "tasks": $count(run.tasks) }' }), index: 0 },
      context({ outputOf: async () => Promise.reject(new Error('not read')) }),
    );
    expect(calls).toEqual([expect.objectContaining({ kind: 'call', arguments: { tasks: 2 } })]);
  });
});

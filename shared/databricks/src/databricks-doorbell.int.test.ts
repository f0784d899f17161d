import { DeliveryError } from '@mcp-broker/broker';
import { type CallerConfig, callerSchema, databricksConfigSchema } from '@mcp-broker/broker-config';
import type { DatabricksDoorbellJob, ToolCallRequest } from '@mcp-broker/contracts';
import { type DatabricksSandbox, startDatabricksSandbox } from '@mcp-broker/databricks-sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatabricksDoorbellProcessor, prepareSources } from './databricks-doorbell.ts';
import { DatabricksWorkspaces } from './databricks-workspaces.ts';
import type { ToolCallAcceptor } from './tool-call-acceptor.ts';

// The worker's half of a webhook against the Databricks sandbox as the Jobs API. accept() is the
// core's port: here it records what it is handed (the core's own tests cover what it does with
// it; test/e2e/databricks.e2e.test.ts runs both together).

let sandbox: DatabricksSandbox;
const caller: CallerConfig = callerSchema.parse({
  id: 'data-team',
  auth: { type: 'basic', username: 'd', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
  upstream: {
    endpoint: 'local',
    credential: {
      type: 'client-credentials',
      tokenUrl: 'http://127.0.0.1:1/t',
      clientId: 'c',
      clientSecret: { fromEnv: 'X' },
      scope: 's',
    },
  },
  tools: ['*'],
});
const target = {
  type: 'databricks-sql',
  workspace: 'lakehouse',
  warehouseId: 'sandbox-warehouse',
  table: 'main.ops.t',
};

let handed: { request: ToolCallRequest; refusal?: { code: string; message: string } }[];
const acceptor: ToolCallAcceptor = {
  accept: async (_caller, request, options) => {
    handed.push({ request, ...(options?.refusal ? { refusal: options.refusal } : {}) });
    return options?.refusal
      ? { outcome: 'refused', reason: { code: options.refusal.code, message: options.refusal.message } as never }
      : { outcome: 'queued', record: {} as never };
  },
};

function processor(intake: ToolCallAcceptor = acceptor) {
  const config = databricksConfigSchema.parse({
    workspaces: [
      {
        id: 'lakehouse',
        caller: 'data-team',
        host: sandbox.host,
        auth: { type: 'oauth-m2m', clientId: sandbox.clientId, clientSecret: { fromEnv: 'DBX_SECRET' } },
      },
    ],
    webhookSources: [
      {
        id: 'nightly',
        workspace: 'lakehouse',
        caller: 'data-team',
        auth: { username: 'u', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
        routes: [
          { match: { jobName: 'scoring' }, tool: 'score', arguments: '{ "n": output.json.n }', writeBack: [target] },
          { match: { jobName: 'scoring' }, tool: 'summarise', per: 'run', arguments: '{ "tasks": $count(run.tasks) }' },
        ],
      },
    ],
  });
  return new DatabricksDoorbellProcessor({
    sources: config.webhookSources,
    callers: [caller],
    workspaces: new DatabricksWorkspaces(config.workspaces, { env: { DBX_SECRET: sandbox.clientSecret } }),
    intake,
  });
}

const job = (
  runId: number,
  jobId: number,
  over: Partial<DatabricksDoorbellJob['webhook']> = {},
): DatabricksDoorbellJob => ({
  source: 'nightly',
  webhook: {
    event_type: 'jobs.on_success',
    workspace_id: sandbox.workspaceId,
    run: { run_id: String(runId) },
    job: { job_id: String(jobId), name: 'scoring' },
    ...over,
  },
  requestId: 'req-1',
  receivedAt: new Date().toISOString(),
});

beforeAll(async () => {
  sandbox = await startDatabricksSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  handed = [];
  sandbox.faults.clear();
});

describe('doorbell processor', () => {
  it('a Jobs API 5xx before the last attempt is thrown (the job is retried), and nothing is handed to accept', async () => {
    const run = sandbox.addRun({ jobName: 'scoring', tasks: [{ taskKey: 'a', notebookResult: '{"n":1}' }] });
    sandbox.faults.serverError({ path: 'runs/get' });
    await expect(processor().process(job(run.runId, run.jobId), { final: false })).rejects.toMatchObject({
      kind: 'transient',
      code: 'DATABRICKS_UNAVAILABLE',
    });
    expect(handed).toEqual([]);
  });

  it('a 429 on one task output is thrown with its Retry-After; the retried job hands every call', async () => {
    const run = sandbox.addRun({
      jobName: 'scoring',
      tasks: [
        { taskKey: 'a', notebookResult: '{"n":1}' },
        { taskKey: 'b', notebookResult: '{"n":2}' },
      ],
    });
    sandbox.faults.rateLimit({ path: 'runs/get-output', retryAfterSeconds: 4 });
    const error = await processor()
      .process(job(run.runId, run.jobId), { final: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: 'DATABRICKS_RATE_LIMITED', retryAfterMs: 4000 });
    handed = [];
    const outcome = await processor().process(job(run.runId, run.jobId), { final: false });
    expect(outcome).toMatchObject({ queued: 3, refused: 0 });
    expect(handed.map((h) => [h.request.tool, h.request.idempotencyKey, h.request.arguments])).toEqual([
      ['score', `databricks:${sandbox.workspaceId}:${run.runId}:jobs.on_success:r0:a`, { n: 1 }],
      ['score', `databricks:${sandbox.workspaceId}:${run.runId}:jobs.on_success:r0:b`, { n: 2 }],
      ['summarise', `databricks:${sandbox.workspaceId}:${run.runId}:jobs.on_success:r1`, { tasks: 2 }],
    ]);
    expect(handed[0]?.request).toMatchObject({
      writeBack: [target],
      source: { kind: 'databricks', reference: `${sandbox.workspaceId}/${run.runId}/jobs.on_success` },
      correlation: { requestId: 'req-1' },
    });
  });

  it('on the last attempt a transient failure is recorded as a refusal per matching route', async () => {
    const run = sandbox.addRun({ jobName: 'scoring', tasks: [{ taskKey: 'a' }] });
    sandbox.faults.rateLimit({ path: 'runs/get' });
    const outcome = await processor().process(job(run.runId, run.jobId), { final: true });
    expect(outcome).toMatchObject({ queued: 0, refused: 2 });
    expect(handed.map((h) => [h.request.idempotencyKey, h.refusal?.code])).toEqual([
      [`databricks:${sandbox.workspaceId}:${run.runId}:jobs.on_success:r0`, 'DATABRICKS_RATE_LIMITED'],
      [`databricks:${sandbox.workspaceId}:${run.runId}:jobs.on_success:r1`, 'DATABRICKS_RATE_LIMITED'],
    ]);
  });

  it('a run of another job than the webhook named is refused, not acted on', async () => {
    const run = sandbox.addRun({ jobName: 'scoring', tasks: [{ taskKey: 'a', notebookResult: '{"n":1}' }] });
    await processor().process(job(run.runId, run.jobId + 1), { final: false });
    expect(handed.every((h) => h.refusal?.code === 'DATABRICKS_RUN_MISMATCH')).toBe(true);
    expect(handed).toHaveLength(2);
  });

  it('accept() throwing (store or Redis down) is thrown, so the doorbell is tried again', async () => {
    const run = sandbox.addRun({ jobName: 'scoring', tasks: [{ taskKey: 'a', notebookResult: '{"n":1}' }] });
    const down: ToolCallAcceptor = { accept: async () => Promise.reject(new Error('store unavailable')) };
    await expect(processor(down).process(job(run.runId, run.jobId), { final: false })).rejects.toThrow(
      'store unavailable',
    );
  });

  it('a doorbell for a source no longer configured, or no route, is skipped', async () => {
    const run = sandbox.addRun({ jobName: 'other', tasks: [{ taskKey: 'a' }] });
    expect(await processor().process({ ...job(run.runId, run.jobId), source: 'gone' }, { final: false })).toMatchObject(
      {
        skipped: 'unknown source',
      },
    );
    expect(
      await processor().process(job(run.runId, run.jobId, { job: { job_id: String(run.jobId), name: 'other' } }), {
        final: false,
      }),
    ).toMatchObject({ skipped: 'no route matches' });
    expect(handed).toEqual([]);
  });

  it('refuses at start a route write-back target that does not validate, naming the field', () => {
    const sources = databricksConfigSchema.parse({
      workspaces: [],
      webhookSources: [
        {
          id: 's',
          workspace: 'w',
          caller: 'data-team',
          auth: { username: 'u', passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
          routes: [{ tool: 't', arguments: '{}', writeBack: [{ ...target, table: 'no-dots' }] }],
        },
      ],
    }).webhookSources;
    expect(() => prepareSources(sources, [caller])).toThrow(
      /databricks\.webhookSources\.0\.routes\.0\.writeBack\.0\.table: catalog\.schema\.table/,
    );
  });
});

import { DeliveryError } from '@mcp-broker/broker';
import type { DatabricksWorkspaceConfig } from '@mcp-broker/broker-config';
import type { DatabricksSqlTarget, ToolCallRecord } from '@mcp-broker/contracts';
import { type DatabricksSandbox, startDatabricksSandbox } from '@mcp-broker/databricks-sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatabricksSqlHandler, RESULT_COLUMNS } from './databricks-sql-target.ts';
import { DatabricksWorkspace } from './databricks-workspace.ts';
import { DatabricksWorkspaces } from './databricks-workspaces.ts';
import { getRun, getRunOutput } from './jobs-api.ts';

// The Jobs client and the databricks-sql target against the Databricks sandbox (a real HTTP
// server answering the documented shapes and errors): faults first, then the happy paths.

let sandbox: DatabricksSandbox;
const TABLE = 'main.ops.tool_calls';

beforeAll(async () => {
  sandbox = await startDatabricksSandbox({ outputLimitBytes: 2048 });
  sandbox.createTable(TABLE, [...RESULT_COLUMNS]);
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => sandbox.faults.clear());

const oauthConfig = (over: Partial<DatabricksWorkspaceConfig> = {}): DatabricksWorkspaceConfig => ({
  id: 'lakehouse',
  caller: 'data-team',
  host: sandbox.host,
  auth: { type: 'oauth-m2m', clientId: sandbox.clientId, clientSecret: { fromEnv: 'DBX_SECRET' } },
  requestTimeoutMs: 5_000,
  ...over,
});
const env = () => ({ DBX_SECRET: sandbox.clientSecret, DBX_PAT: sandbox.personalAccessToken, DBX_BAD: 'nope' });
const workspace = (over: Partial<DatabricksWorkspaceConfig> = {}) =>
  new DatabricksWorkspace(oauthConfig(over), { env: env() });

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DeliveryError);
    return error as DeliveryError;
  }
  throw new Error('expected a failure');
}

const tokenRequests = () => sandbox.requests.filter((r) => r.path === '/oidc/v1/token').length;

describe('workspace authentication', () => {
  it('a refused client secret is a final DATABRICKS_AUTH_FAILED naming the client, never the secret', async () => {
    const run = sandbox.addRun({ tasks: [{ taskKey: 'a' }] });
    const bad = workspace({
      auth: { type: 'oauth-m2m', clientId: sandbox.clientId, clientSecret: { fromEnv: 'DBX_BAD' } },
    });
    const error = await failure(getRun(bad, String(run.runId)));
    expect(error).toMatchObject({ kind: 'permanent', code: 'DATABRICKS_AUTH_FAILED' });
    expect(error.message).toMatch(/invalid_client/);
    expect(error.message).not.toContain('nope');
  });

  it('a missing secret variable is a final DATABRICKS_AUTH_FAILED naming the variable', async () => {
    const missing = workspace({ auth: { type: 'oauth-m2m', clientId: 'x', clientSecret: { fromEnv: 'DBX_UNSET' } } });
    const error = await failure(getRun(missing, '1'));
    expect(error).toMatchObject({ kind: 'permanent', code: 'DATABRICKS_AUTH_FAILED' });
    expect(error.message).toContain('DBX_UNSET');
  });

  it('a token endpoint answering 429 or 503 is a transient DATABRICKS_AUTH_UNAVAILABLE with its Retry-After', async () => {
    sandbox.faults.rateLimit({ path: '/oidc/v1/token', retryAfterSeconds: 3 });
    const error = await failure(getRun(workspace(), '1'));
    expect(error).toMatchObject({ kind: 'transient', code: 'DATABRICKS_AUTH_UNAVAILABLE', retryAfterMs: 3000 });
    sandbox.faults.serverError({ path: '/oidc/v1/token' });
    expect(await failure(getRun(workspace(), '1'))).toMatchObject({
      kind: 'transient',
      code: 'DATABRICKS_AUTH_UNAVAILABLE',
    });
  });

  it('caches the token, and refreshes once when the workspace refuses an expired one', async () => {
    const run = sandbox.addRun({ tasks: [{ taskKey: 'a' }] });
    const client = workspace();
    const before = tokenRequests();
    await getRun(client, String(run.runId));
    await getRun(client, String(run.runId));
    expect(tokenRequests() - before).toBe(1);
    sandbox.faults.expireTokens();
    expect((await getRun(client, String(run.runId))).run_id).toBe(run.runId);
    expect(tokenRequests() - before).toBe(2);
  });

  it('refreshes early: a token inside the refresh window is replaced before it expires', async () => {
    const run = sandbox.addRun({ tasks: [{ taskKey: 'a' }] });
    const client = new DatabricksWorkspace(oauthConfig(), { env: env(), refreshBeforeMs: 3_600_000 });
    const before = tokenRequests();
    await getRun(client, String(run.runId));
    await getRun(client, String(run.runId));
    expect(tokenRequests() - before).toBe(2);
  });

  it('a refused personal access token is final at once (no refresh to try)', async () => {
    const pat = workspace({ auth: { type: 'token', token: { fromEnv: 'DBX_BAD' } } });
    const error = await failure(getRun(pat, '1'));
    expect(error).toMatchObject({ kind: 'permanent', code: 'DATABRICKS_AUTH_FAILED' });
    expect(error.message).toMatch(/HTTP 403: Invalid access token/);
    const good = workspace({ auth: { type: 'token', token: { fromEnv: 'DBX_PAT' } } });
    const run = sandbox.addRun({ tasks: [{ taskKey: 'a' }] });
    expect((await getRun(good, String(run.runId))).run_id).toBe(run.runId);
  });
});

describe('Jobs API errors', () => {
  it('429 is transient with Retry-After, and the next request succeeds', async () => {
    const run = sandbox.addRun({ tasks: [{ taskKey: 'a' }] });
    const client = workspace();
    sandbox.faults.rateLimit({ path: 'runs/get', retryAfterSeconds: 2 });
    expect(await failure(getRun(client, String(run.runId)))).toMatchObject({
      kind: 'transient',
      code: 'DATABRICKS_RATE_LIMITED',
      retryAfterMs: 2000,
    });
    expect((await getRun(client, String(run.runId))).run_id).toBe(run.runId);
  });

  it('5xx is a transient DATABRICKS_UNAVAILABLE', async () => {
    sandbox.faults.serverError({ path: 'runs/get', status: 500 });
    const error = await failure(getRun(workspace(), '1'));
    expect(error).toMatchObject({ kind: 'transient', code: 'DATABRICKS_UNAVAILABLE' });
    expect(error.message).toContain('INTERNAL_ERROR');
  });

  it('a slow answer past the request budget is a transient DATABRICKS_TIMEOUT', async () => {
    // Budgets wide enough for a loaded CI machine's warm-up call, still far below the slow answer.
    const client = workspace({ requestTimeoutMs: 1500 });
    await getRun(client, String(sandbox.addRun({ tasks: [{ taskKey: 'a' }] }).runId));
    sandbox.faults.slow({ path: 'runs/get', delayMs: 5000 });
    expect(await failure(getRun(client, '1'))).toMatchObject({ kind: 'transient', code: 'DATABRICKS_TIMEOUT' });
  });

  it('4xx is final with Databricks’ error_code and message', async () => {
    const error = await failure(getRun(workspace(), '424242'));
    expect(error).toMatchObject({ kind: 'permanent', code: 'DATABRICKS_REQUEST_REFUSED' });
    expect(error.message).toMatch(/HTTP 400 INVALID_PARAMETER_VALUE: Run 424242 does not exist\./);
  });

  it('the output of a multi-task parent run is refused as Databricks refuses it', async () => {
    const run = sandbox.addRun({ tasks: [{ taskKey: 'a' }, { taskKey: 'b' }] });
    const error = await failure(getRunOutput(workspace(), run.runId));
    expect(error.code).toBe('DATABRICKS_REQUEST_REFUSED');
    expect(error.message).toMatch(/multiple tasks is not supported/);
  });
});

describe('Jobs API reads', () => {
  it('joins every page of task runs (above 100 they come with next_page_token)', async () => {
    const run = sandbox.addRun({ tasks: Array.from({ length: 205 }, (_, i) => ({ taskKey: `t${i}` })) });
    const fetched = await getRun(workspace(), String(run.runId));
    expect(fetched.tasks?.map((t) => t.task_key)).toEqual(run.tasks.map((t) => t.spec.taskKey));
    expect(fetched).not.toHaveProperty('next_page_token');
  });

  it('reads each task run’s output, with truncated when it passed the limit', async () => {
    const run = sandbox.addRun({
      tasks: [
        { taskKey: 'small', notebookResult: '{"n":1}' },
        { taskKey: 'big', notebookResult: 'y'.repeat(3000) },
      ],
    });
    const client = workspace();
    const [small, big] = [
      await getRunOutput(client, run.tasks[0]?.runId ?? 0),
      await getRunOutput(client, run.tasks[1]?.runId ?? 0),
    ];
    expect(small.notebook_output).toEqual({ result: '{"n":1}', truncated: false });
    expect(big.notebook_output?.truncated).toBe(true);
  });
});

function record(over: Partial<ToolCallRecord> = {}): ToolCallRecord {
  const id = `tc_${Math.random().toString(36).slice(2)}`;
  return {
    id,
    caller: 'data-team',
    endpoint: 'local',
    tool: 'score_accounts',
    fingerprint: 'f',
    idempotencyKey: `key-${id}`,
    arguments: {},
    source: { kind: 'databricks', reference: '1234/77/jobs.on_success' },
    correlation: { requestId: 'req-1' },
    status: 'succeeded',
    history: [],
    result: {
      content: [{ type: 'text', text: 'ok' }],
      structuredContent: { score: 0.9, note: "it's ; DROP TABLE x; --" },
    },
    attempts: 1,
    deliveries: [],
    createdAt: '2026-12-02T01:00:00.000Z',
    updatedAt: '2026-12-02T01:00:00.000Z',
    completedAt: '2026-12-02T01:00:05.000Z',
    ...over,
  } as ToolCallRecord;
}

describe('databricks-sql target', () => {
  const target = (over: Partial<DatabricksSqlTarget> = {}): DatabricksSqlTarget => ({
    type: 'databricks-sql',
    workspace: 'lakehouse',
    warehouseId: sandbox.warehouseId,
    table: TABLE,
    ...over,
  });
  const handler = (options: { waitTimeoutSeconds?: number } = {}) =>
    new DatabricksSqlHandler({
      workspaces: new DatabricksWorkspaces([oauthConfig()], { env: env() }),
      pollIntervalMs: 20,
      ...options,
    });
  const deliver = (h: DatabricksSqlHandler, r: ToolCallRecord, t = target(), signal = AbortSignal.timeout(10_000)) =>
    h.deliver(t, { record: r, targetIndex: 0, signal });
  const rowsOf = (callId: string) => sandbox.rows(TABLE).filter((row) => row.call_id === callId);

  it('refuses a workspace that is not the caller’s, for good', async () => {
    const error = await failure(deliver(handler(), record({ caller: 'someone-else' })));
    expect(error).toMatchObject({ kind: 'permanent', code: 'DATABRICKS_WORKSPACE_NOT_ALLOWED' });
  });

  it('records a FAILED statement with the statement’s error, final', async () => {
    const error = await failure(deliver(handler(), record(), target({ table: 'main.ops.missing' })));
    expect(error).toMatchObject({ kind: 'permanent', code: 'DATABRICKS_STATEMENT_FAILED' });
    expect(error.message).toMatch(/BAD_REQUEST: \[TABLE_OR_VIEW_NOT_FOUND\]/);
  });

  it('retries a Delta concurrency conflict (transient), then writes the row', async () => {
    const r = record();
    sandbox.faults.failStatements();
    expect(await failure(deliver(handler(), r))).toMatchObject({
      kind: 'transient',
      code: 'DATABRICKS_STATEMENT_CONFLICT',
    });
    expect(rowsOf(r.id)).toHaveLength(0);
    await deliver(handler(), r);
    expect(rowsOf(r.id)).toHaveLength(1);
  });

  it('a warehouse answering 429 or 5xx is transient; the retried delivery writes one row', async () => {
    const r = record();
    sandbox.faults.rateLimit({ path: '/api/2.0/sql/statements', retryAfterSeconds: 1 });
    expect(await failure(deliver(handler(), r))).toMatchObject({ code: 'DATABRICKS_RATE_LIMITED', retryAfterMs: 1000 });
    sandbox.faults.serverError({ path: '/api/2.0/sql/statements' });
    expect(await failure(deliver(handler(), r))).toMatchObject({ code: 'DATABRICKS_UNAVAILABLE' });
    expect((await deliver(handler(), r)).inserted).toBe(true);
    expect((await deliver(handler(), r)).inserted).toBe(false);
    expect(rowsOf(r.id)).toHaveLength(1);
  });

  it('merges the outcome by call id with named parameters only, polling an asynchronous statement to SUCCEEDED', async () => {
    const r = record();
    const receipt = await deliver(handler({ waitTimeoutSeconds: 0 }), r);
    expect(receipt).toMatchObject({ workspace: 'lakehouse', table: TABLE, inserted: true });
    expect(sandbox.requests.some((q) => q.path === `/api/2.0/sql/statements/${receipt.statementId}`)).toBe(true);
    expect(rowsOf(r.id)).toEqual([
      {
        call_id: r.id,
        idempotency_key: r.idempotencyKey,
        caller: 'data-team',
        tool: 'score_accounts',
        status: 'succeeded',
        result: JSON.stringify({ score: 0.9, note: "it's ; DROP TABLE x; --" }),
        error_code: null,
        error_message: null,
        source: 'databricks:1234/77/jobs.on_success',
        completed_at: '2026-12-02T01:00:05.000Z',
      },
    ]);
    // Nothing of the outcome is in the statement text itself.
    const sent = sandbox.statements().at(-1);
    expect(sent?.text).not.toContain(r.id);
    expect(sent?.text).not.toContain('DROP TABLE');
    expect(sent?.parameters.find((p) => p.name === 'target_table')?.value).toBe(TABLE);
  });

  it('writes a failed call’s error, and a later success of the same call replaces it in the same row', async () => {
    const failed = record({ status: 'failed', result: undefined, error: { code: 'TOOL_ERROR', message: 'bad input' } });
    await deliver(handler(), failed);
    expect(rowsOf(failed.id)[0]).toMatchObject({
      status: 'failed',
      error_code: 'TOOL_ERROR',
      error_message: 'bad input',
      result: null,
    });
    await deliver(handler(), {
      ...failed,
      status: 'succeeded',
      error: undefined,
      result: { content: [{ type: 'text', text: 'fine' }] },
    } as ToolCallRecord);
    expect(rowsOf(failed.id)).toEqual([
      expect.objectContaining({ status: 'succeeded', result: 'fine', error_code: null }),
    ]);
  });

  it('gives up a statement still running when the delivery runs out of time, unconfirmed', async () => {
    // The budget must cover the token and the submit on a loaded machine (CI missed it at 1.5 s:
    // the deadline came before the submit, so nothing was left unconfirmed), and still end long
    // before the statement does.
    const slow = await startDatabricksSandbox({ statementTimings: { pendingMs: 10_000, runningMs: 10_000 } });
    try {
      slow.createTable(TABLE, [...RESULT_COLUMNS]);
      const h = new DatabricksSqlHandler({
        workspaces: new DatabricksWorkspaces([oauthConfig({ host: slow.host })], {
          env: { DBX_SECRET: slow.clientSecret },
        }),
        waitTimeoutSeconds: 0,
        pollIntervalMs: 20,
      });
      const error = await failure(
        h.deliver(target(), { record: record(), targetIndex: 0, signal: AbortSignal.timeout(5000) }),
      );
      expect(error).toMatchObject({ kind: 'transient', code: 'DATABRICKS_TIMEOUT', unconfirmed: true });
    } finally {
      await slow.close();
    }
  });
});

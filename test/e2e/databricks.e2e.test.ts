import { randomUUID } from 'node:crypto';
import { hashPassword } from '@mcp-broker/broker-config';
import { RESULT_COLUMNS } from '@mcp-broker/databricks';
import { type DatabricksSandbox, type Row, startDatabricksSandbox } from '@mcp-broker/databricks-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerStack, startBrokerStack } from '../support/broker-stack.ts';
import { brokerTestTools, invocations } from '../support/broker-test-tools.ts';

// Databricks job webhooks end to end on real peers: the Databricks sandbox (OAuth M2M token
// endpoint, Jobs API 2.2, Statement Execution over in-memory Delta tables, firing the
// notification as a destination does), ingress's webhook route queueing the doorbell in Redis,
// the worker fetching the run and handing each call to the core's accept(), the governed MCP
// server on caller-a's identity, and the databricks-sql write-back MERGE.

const TABLE = 'main.ops.tool_calls';
const PASSWORD: string = randomUUID();
const BURST_PASSWORD: string = randomUUID();
let sandbox: DatabricksSandbox;
let stack: BrokerStack;
let hookUrl: string;

const delta = (table = TABLE) => ({
  type: 'databricks-sql',
  workspace: 'lakehouse',
  warehouseId: 'sandbox-warehouse',
  table,
});
const route = (jobName: string, over: Record<string, unknown> = {}) => ({
  match: { jobName, eventTypes: ['jobs.on_success', 'jobs.on_failure'] },
  tool: 'test_echo',
  arguments: '{ "message": output.json.message }',
  writeBack: [delta()],
  ...over,
});

beforeAll(async () => {
  sandbox = await startDatabricksSandbox({ outputLimitBytes: 4096 });
  sandbox.createTable(TABLE, [...RESULT_COLUMNS]);
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: '127.0.0.1',
    roles: ['Test.Echo'],
    databricks: {
      env: { E2E_DATABRICKS_SECRET: sandbox.clientSecret },
      section: {
        workspaces: [
          {
            id: 'lakehouse',
            caller: 'caller-a',
            host: sandbox.host,
            workspaceId: sandbox.workspaceId,
            auth: { type: 'oauth-m2m', clientId: sandbox.clientId, clientSecret: { fromEnv: 'E2E_DATABRICKS_SECRET' } },
          },
        ],
        webhookSources: [
          {
            id: 'nightly',
            workspace: 'lakehouse',
            caller: 'caller-a',
            auth: { username: 'databricks', passwordHash: await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 }) },
            routes: [
              route('nightly-scoring'),
              route('row-export', { per: 'row', rows: 'output.json.rows', arguments: '{ "message": row.m }' }),
              route('truncating'),
              route('bad-table', { writeBack: [delta('main.ops.missing')] }),
            ],
          },
          {
            // Its credentials are first used by many deliveries at once (the throttle tests).
            id: 'burst',
            workspace: 'lakehouse',
            caller: 'caller-a',
            auth: { username: 'databricks', passwordHash: await hashPassword(BURST_PASSWORD, { N: 1024, r: 8, p: 1 }) },
            routes: [route('nightly-scoring')],
          },
        ],
      },
    },
  });
  hookUrl = `${stack.ingressUrl}/webhooks/databricks/nightly`;
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await sandbox?.close();
}, 60_000);

const credentials: { username: string; password: string } = { username: 'databricks', password: PASSWORD };
const fire = (body: Record<string, unknown> | string, creds = credentials, url = hookUrl) =>
  sandbox.fireWebhook(url, body, creds);
/** Jobs API requests about a run (or its task runs). */
const fetchesOf = (run: { runId: number; tasks: { runId: number }[] }) =>
  sandbox.requests.filter((r) =>
    [run.runId, ...run.tasks.map((t) => t.runId)].some((id) => r.url.includes(`run_id=${id}`)),
  );
const rowsWith = (prefix: string): Row[] =>
  sandbox.rows(TABLE).filter((r) => String(r.idempotency_key).startsWith(prefix));
const keyOf = (runId: number, event = 'jobs.on_success') => `databricks:${sandbox.workspaceId}:${runId}:${event}`;
async function callsOfCallerA() {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls?limit=100`, {
    headers: { authorization: stack.auth('caller-a') },
  });
  return (
    (await res.json()) as {
      items: { id: string; tool: string; status: string; source: { kind: string; reference?: string } }[];
    }
  ).items;
}

function nightly(message: string, over: Partial<Parameters<DatabricksSandbox['addRun']>[0]> = {}) {
  return sandbox.addRun({
    jobName: 'nightly-scoring',
    tasks: [{ taskKey: 'score', notebookResult: JSON.stringify({ message }) }],
    ...over,
  });
}

describe('Databricks webhooks: refused before anything is queued', () => {
  it('wrong, missing or unknown-source credentials are 401 and fetch nothing', async () => {
    const run = nightly(`nope-${randomUUID().slice(0, 8)}`);
    const body = sandbox.notificationPayload('jobs.on_success', run.runId);
    const wrong = await fire(body, { username: 'databricks', password: 'guess' });
    const missing = await sandbox.fireWebhook(hookUrl, body);
    const unknown = await fire(body, credentials, `${stack.ingressUrl}/webhooks/databricks/other-source`);
    for (const answer of [wrong, missing, unknown]) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({
        error: { code: 'BROKER_CREDENTIALS_INVALID', requestId: expect.any(String) },
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(fetchesOf(run)).toEqual([]);
    expect(rowsWith(keyOf(run.runId))).toEqual([]);
  });

  it('a malformed payload is 400 naming the field and the request id; unknown extra fields are fine', async () => {
    const run = nightly(`bad-${randomUUID().slice(0, 8)}`);
    const good = sandbox.notificationPayload('jobs.on_success', run.runId) as Record<string, Record<string, unknown>>;
    const cases: [Record<string, unknown> | string, RegExp][] = [
      [{ ...good, run: {} }, /body\.run\.run_id/],
      [{ ...good, event_type: 'jobs.on_finish' }, /body\.event_type/],
      [{ ...good, workspace_id: 'abc' }, /body\.workspace_id/],
      [{ ...good, job: { job_id: run.jobId } }, /body\.job\.name/],
      [{ ...good, task: { task_key: 7 } }, /body\.task\.task_key/],
      ['[1, 2', /JSON/i],
      [`${'['.repeat(200)}${']'.repeat(200)}`, /deep|nest/i],
    ];
    for (const [body, field] of cases) {
      const answer = await fire(body);
      expect(answer.status, answer.body).toBe(400);
      const json = JSON.parse(answer.body) as { error: { message: string; requestId: string } };
      expect(json.error.message).toMatch(field);
      expect(json.error.requestId).toEqual(expect.any(String));
    }
    expect(rowsWith(keyOf(run.runId))).toEqual([]);
    const tolerated = await fire({ ...good, run: { ...good.run, run_page_url: 'https://x' }, new_field: { a: 1 } });
    expect(tolerated.status).toBe(202);
  });

  it('an event no route matches is a 202 skip, and the run is not fetched', async () => {
    const run = sandbox.addRun({ jobName: 'other-job', tasks: [{ taskKey: 'a' }] });
    const answer = await fire(sandbox.notificationPayload('jobs.on_success', run.runId));
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'skipped' });
    const other = nightly('x');
    const started = await fire(sandbox.notificationPayload('jobs.on_start', other.runId));
    expect(JSON.parse(started.body)).toMatchObject({ status: 'skipped' });
    await new Promise((r) => setTimeout(r, 300));
    expect([...fetchesOf(run), ...fetchesOf(other)]).toEqual([]);
  });

  it('a webhook naming another workspace than the source’s is a 202 skip', async () => {
    const run = nightly(`elsewhere-${randomUUID().slice(0, 8)}`);
    const answer = await fire({ ...sandbox.notificationPayload('jobs.on_success', run.runId), workspace_id: '999' });
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'skipped' });
    await new Promise((r) => setTimeout(r, 300));
    expect(fetchesOf(run)).toEqual([]);
  });
});

describe('Databricks webhooks: a finished job becomes governed tool calls and Delta rows', () => {
  it('a webhook fetches the run, calls the tool on caller-a’s identity and merges the result into the Delta table', async () => {
    const message = `happy-${randomUUID().slice(0, 8)}`;
    const run = nightly(message);
    const answer = await fire(sandbox.notificationPayload('jobs.on_success', run.runId));
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'accepted', key: keyOf(run.runId) });
    await expect.poll(() => rowsWith(keyOf(run.runId))[0]?.status, { timeout: 20_000 }).toBe('succeeded');
    const [row] = rowsWith(keyOf(run.runId));
    expect(row).toMatchObject({
      caller: 'caller-a',
      tool: 'test_echo',
      source: `databricks:${sandbox.workspaceId}/${run.runId}/jobs.on_success`,
    });
    expect(JSON.parse(String(row?.result))).toMatchObject({ echoed: message });
    expect(invocations.get(`echo:${message}`)).toBe(1);
    const call = (await callsOfCallerA()).find((c) => c.id === row?.call_id);
    expect(call).toMatchObject({ tool: 'test_echo', status: 'succeeded', source: { kind: 'databricks' } });
  });

  it('a redelivered webhook makes one call and one row', async () => {
    const message = `again-${randomUUID().slice(0, 8)}`;
    const run = nightly(message);
    const body = sandbox.notificationPayload('jobs.on_success', run.runId);
    const [first, second] = await Promise.all([fire(body), fire(body)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    await expect.poll(() => rowsWith(keyOf(run.runId))[0]?.status, { timeout: 20_000 }).toBe('succeeded');
    const late = await fire(body);
    expect(JSON.parse(late.body)).toMatchObject({ status: 'duplicate' });
    await new Promise((r) => setTimeout(r, 500));
    expect(rowsWith(keyOf(run.runId))).toHaveLength(1);
    expect(invocations.get(`echo:${message}`)).toBe(1);
  });

  it('a multi-task run makes one call per task run; a task-level notification only its task’s', async () => {
    const tag = randomUUID().slice(0, 8);
    const run = sandbox.addRun({
      jobName: 'nightly-scoring',
      tasks: ['a', 'b', 'c'].map((t) => ({ taskKey: t, notebookResult: JSON.stringify({ message: `${tag}-${t}` }) })),
    });
    await fire(sandbox.notificationPayload('jobs.on_success', run.runId));
    await expect
      .poll(() => rowsWith(keyOf(run.runId)).filter((r) => r.status === 'succeeded').length, { timeout: 20_000 })
      .toBe(3);
    expect(['a', 'b', 'c'].map((t) => invocations.get(`echo:${tag}-${t}`))).toEqual([1, 1, 1]);
    const taskRun = sandbox.addRun({
      jobName: 'nightly-scoring',
      tasks: ['a', 'b'].map((t) => ({ taskKey: t, notebookResult: JSON.stringify({ message: `${tag}-task-${t}` }) })),
    });
    await fire(sandbox.notificationPayload('jobs.on_failure', taskRun.runId, { taskKey: 'b' }));
    const taskKey = `databricks:${sandbox.workspaceId}:${taskRun.tasks[1]?.runId}:jobs.on_failure:b`;
    await expect.poll(() => rowsWith(taskKey).map((r) => r.status), { timeout: 20_000 }).toEqual(['succeeded']);
    expect(invocations.get(`echo:${tag}-task-a`)).toBeUndefined();
  });

  it('a small result fans out to one call per row', async () => {
    const tag = randomUUID().slice(0, 8);
    const run = sandbox.addRun({
      jobName: 'row-export',
      tasks: [{ taskKey: 'export', notebookResult: JSON.stringify({ rows: [{ m: `${tag}-1` }, { m: `${tag}-2` }] }) }],
    });
    await fire(sandbox.notificationPayload('jobs.on_success', run.runId));
    await expect
      .poll(() => rowsWith(keyOf(run.runId)).filter((r) => r.status === 'succeeded').length, { timeout: 20_000 })
      .toBe(2);
    expect([invocations.get(`echo:${tag}-1`), invocations.get(`echo:${tag}-2`)]).toEqual([1, 1]);
  });

  it('a truncated output is recorded as a failed call and written back, without calling the tool', async () => {
    const run = sandbox.addRun({
      jobName: 'truncating',
      tasks: [{ taskKey: 'big', notebookResult: JSON.stringify({ message: 'x'.repeat(5000) }) }],
    });
    await fire(sandbox.notificationPayload('jobs.on_success', run.runId));
    await expect
      .poll(() => rowsWith(keyOf(run.runId))[0]?.error_code, { timeout: 20_000 })
      .toBe('DATABRICKS_OUTPUT_TRUNCATED');
    expect(rowsWith(keyOf(run.runId))[0]).toMatchObject({ status: 'failed', tool: 'test_echo' });
  });

  it('Jobs API 429 and 5xx are retried (after Retry-After) until the run is fetched', async () => {
    const message = `retry-${randomUUID().slice(0, 8)}`;
    const run = nightly(message);
    sandbox.faults.rateLimit({ path: 'runs/get', retryAfterSeconds: 1 });
    sandbox.faults.serverError({ path: 'runs/get' });
    const started = Date.now();
    await fire(sandbox.notificationPayload('jobs.on_success', run.runId));
    await expect.poll(() => rowsWith(keyOf(run.runId))[0]?.status, { timeout: 20_000 }).toBe('succeeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(
      sandbox.requests.filter((r) => r.path === '/api/2.2/jobs/runs/get' && (r.status === 429 || r.status === 503))
        .length,
    ).toBeGreaterThanOrEqual(2);
    expect(invocations.get(`echo:${message}`)).toBe(1);
  });

  it('a Jobs API 4xx is final and written back as the failure, with Databricks’ error code and message', async () => {
    const run = nightly('never-called');
    const body = { ...sandbox.notificationPayload('jobs.on_success', run.runId), run: { run_id: 999_999_999 } };
    await fire(body);
    const key = `databricks:${sandbox.workspaceId}:999999999:jobs.on_success`;
    await expect.poll(() => rowsWith(key)[0]?.error_code, { timeout: 20_000 }).toBe('DATABRICKS_REQUEST_REFUSED');
    expect(String(rowsWith(key)[0]?.error_message)).toMatch(/INVALID_PARAMETER_VALUE: Run 999999999 does not exist/);
  });

  it('a FAILED statement is recorded on the delivery with the statement’s error', async () => {
    const message = `table-${randomUUID().slice(0, 8)}`;
    const run = sandbox.addRun({
      jobName: 'bad-table',
      tasks: [{ taskKey: 't', notebookResult: JSON.stringify({ message }) }],
    });
    await fire(sandbox.notificationPayload('jobs.on_success', run.runId));
    let delivery: { status: string; lastError?: { code: string; message: string } } | undefined;
    await expect
      .poll(
        async () => {
          const call = (await callsOfCallerA()).find(
            (c) => c.source.reference === `${sandbox.workspaceId}/${run.runId}/jobs.on_success`,
          );
          if (!call) return undefined;
          const res = await fetch(`${stack.ingressUrl}/v1/tool-calls/${call.id}`, {
            headers: { authorization: stack.auth('caller-a') },
          });
          delivery = ((await res.json()) as { deliveries: (typeof delivery)[] }).deliveries[0];
          return delivery?.status;
        },
        { timeout: 20_000 },
      )
      .toBe('failed');
    expect(delivery?.lastError?.code).toBe('DATABRICKS_STATEMENT_FAILED');
    expect(delivery?.lastError?.message).toMatch(/TABLE_OR_VIEW_NOT_FOUND/);
    expect(invocations.get(`echo:${message}`)).toBe(1);
  });

  it('a good credential is not throttled: 40 first deliveries at once (20 runs, each twice) are all 202, one row per run', async () => {
    // Above the per-address and per-username limits (20) if each concurrent check took a slot.
    const tag = randomUUID().slice(0, 8);
    const runs = Array.from({ length: 20 }, (_, i) => nightly(`burst-${tag}-${i}`));
    const burst = { username: 'databricks', password: BURST_PASSWORD };
    const answers = await Promise.all(
      runs.flatMap((run) => {
        const body = sandbox.notificationPayload('jobs.on_success', run.runId);
        return [0, 1].map(() => fire(body, burst, `${stack.ingressUrl}/webhooks/databricks/burst`));
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    await expect
      .poll(() => runs.filter((run) => rowsWith(keyOf(run.runId)).length > 0).length, { timeout: 30_000 })
      .toBe(20);
    for (const run of runs) expect(rowsWith(keyOf(run.runId))).toHaveLength(1);
    for (let i = 0; i < 20; i++) expect(invocations.get(`echo:burst-${tag}-${i}`)).toBe(1);
  });

  it('failed logins are throttled: 429 with Retry-After, without checking the password', async () => {
    const body = sandbox.notificationPayload('jobs.on_success', nightly('throttled').runId);
    let answer = { status: 0, body: '' };
    for (let i = 0; i < 40 && answer.status !== 429; i++)
      answer = await fire(body, { username: 'intruder', password: `guess-${i}` });
    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'BROKER_AUTH_THROTTLED' } });
    // A credential verified before the guessing (the burst test's) still gets through.
    const known = await fire(
      body,
      { username: 'databricks', password: BURST_PASSWORD },
      `${stack.ingressUrl}/webhooks/databricks/burst`,
    );
    expect(known.status).toBe(202);
  });

  it('the webhooks’ throttle is not the API’s: guesses at one do not throttle the other', async () => {
    // From the same address as the webhook guesses above, whose window (60 s) is still full.
    const apiGuess = (i: number) =>
      fetch(`${stack.ingressUrl}/v1/tool-calls?limit=1`, {
        headers: { authorization: `Basic ${Buffer.from(`caller-b:api-guess-${i}`).toString('base64')}` },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 40 && statuses.at(-1) !== 429; i++) {
      const res = await apiGuess(i);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    // The API's own window: its first guesses are checked (401), then refused unchecked.
    expect(statuses.slice(0, 15)).toEqual(Array(15).fill(401));
    expect(statuses.at(-1)).toBe(429);
    // And the API callers' good credentials are unaffected by either.
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls?limit=1`, {
      headers: { authorization: stack.auth('caller-a') },
    });
    expect(res.status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabricksSandbox, startDatabricksSandbox } from './databricks-sandbox.ts';

let sandbox: DatabricksSandbox;

beforeAll(async () => {
  sandbox = await startDatabricksSandbox({ outputLimitBytes: 1024 });
  sandbox.createTable('main.results.tool_calls', ['call_id', 'status', 'result']);
});
afterAll(async () => {
  await sandbox?.close();
});

async function token(): Promise<string> {
  const response = await fetch(`${sandbox.host}/oidc/v1/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${sandbox.clientId}:${sandbox.clientSecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=all-apis',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function api(path: string, init: RequestInit & { token?: string } = {}) {
  const response = await fetch(`${sandbox.host}${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${init.token ?? sandbox.personalAccessToken}`,
      ...(init.headers as Record<string, string>),
    },
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests read many different answer bodies
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, any> };
}

describe('token endpoint', () => {
  it('refuses a wrong secret with invalid_client, by Basic or in the form', async () => {
    for (const init of [
      {
        authorization: `Basic ${Buffer.from(`${sandbox.clientId}:nope`).toString('base64')}`,
        body: 'grant_type=client_credentials&scope=all-apis',
      },
      { body: `grant_type=client_credentials&scope=all-apis&client_id=${sandbox.clientId}&client_secret=nope` },
    ]) {
      const response = await fetch(`${sandbox.host}/oidc/v1/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(init.authorization ? { authorization: init.authorization } : {}),
        },
        body: init.body,
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('refuses a scope other than all-apis', async () => {
    const response = await fetch(`${sandbox.host}/oidc/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=sql&client_id=${sandbox.clientId}&client_secret=${sandbox.clientSecret}`,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('issues an expiring bearer token the APIs accept until it is expired', async () => {
    const run = sandbox.addRun({ tasks: [{ taskKey: 'only' }] });
    const issued = await token();
    expect((await api(`/api/2.2/jobs/runs/get?run_id=${run.runId}`, { token: issued })).status).toBe(200);
    sandbox.faults.expireTokens();
    const refused = await api(`/api/2.2/jobs/runs/get?run_id=${run.runId}`, { token: issued });
    expect(refused.status).toBe(403);
    expect(refused.json).toEqual({ error_code: 403, message: 'Invalid access token.' });
  });
});

describe('Jobs API 2.2', () => {
  it('answers an unknown run with INVALID_PARAMETER_VALUE', async () => {
    const answer = await api('/api/2.2/jobs/runs/get?run_id=42');
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: 'Run 42 does not exist.' });
  });

  it('pages the task runs of a run above 100 with next_page_token', async () => {
    const run = sandbox.addRun({ tasks: Array.from({ length: 230 }, (_, i) => ({ taskKey: `t${i}` })) });
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await api(`/api/2.2/jobs/runs/get?run_id=${run.runId}${token ? `&page_token=${token}` : ''}`);
      expect(page.status).toBe(200);
      keys.push(...page.json.tasks.map((t: { task_key: string }) => t.task_key));
      token = page.json.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(keys).toHaveLength(230);
    expect(new Set(keys).size).toBe(230);
  });

  it('refuses the output of a multi-task parent run and gives each task run’s, truncated past the limit', async () => {
    const run = sandbox.addRun({
      tasks: [
        { taskKey: 'small', notebookResult: '{"rows":1}' },
        { taskKey: 'big', notebookResult: 'x'.repeat(5000) },
      ],
    });
    const parent = await api(`/api/2.2/jobs/runs/get-output?run_id=${run.runId}`);
    expect(parent.status).toBe(400);
    expect(parent.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(parent.json.message).toMatch(/multiple tasks is not supported/);
    const small = await api(`/api/2.2/jobs/runs/get-output?run_id=${run.tasks[0]?.runId}`);
    expect(small.json.notebook_output).toEqual({ result: '{"rows":1}', truncated: false });
    const big = await api(`/api/2.2/jobs/runs/get-output?run_id=${run.tasks[1]?.runId}`);
    expect(big.json.notebook_output.truncated).toBe(true);
    expect(big.json.notebook_output.result).toHaveLength(1024);
    expect(big.json.metadata.task_key).toBe('big');
  });

  it('throttles with 429 REQUEST_LIMIT_EXCEEDED and Retry-After, and fails with 503 TEMPORARILY_UNAVAILABLE', async () => {
    const run = sandbox.addRun({ tasks: [{ taskKey: 'a' }] });
    sandbox.faults.rateLimit({ retryAfterSeconds: 7, path: 'runs/get' });
    const limited = await api(`/api/2.2/jobs/runs/get?run_id=${run.runId}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.json.error_code).toBe('REQUEST_LIMIT_EXCEEDED');
    sandbox.faults.serverError({ path: 'runs/get' });
    const failing = await api(`/api/2.2/jobs/runs/get?run_id=${run.runId}`);
    expect(failing.status).toBe(503);
    expect(failing.json.error_code).toBe('TEMPORARILY_UNAVAILABLE');
    expect((await api(`/api/2.2/jobs/runs/get?run_id=${run.runId}`)).status).toBe(200);
  });
});

describe('SQL Statement Execution', () => {
  const merge = `MERGE INTO IDENTIFIER(:target) AS t
    USING (SELECT :call_id AS call_id, :status AS status, :result AS result) AS s
    ON t.call_id = s.call_id
    WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *`;
  const params = (callId: string, status: string) => [
    { name: 'target', value: 'main.results.tool_calls' },
    { name: 'call_id', value: callId },
    { name: 'status', value: status },
    { name: 'result', value: null },
  ];

  async function poll(id: string) {
    for (;;) {
      const answer = await api(`/api/2.0/sql/statements/${id}`);
      if (!['PENDING', 'RUNNING'].includes(answer.json.status.state)) return answer.json;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('runs an asynchronous MERGE: PENDING, then SUCCEEDED, one row per key', async () => {
    const submitted = await api('/api/2.0/sql/statements', {
      method: 'POST',
      body: JSON.stringify({
        warehouse_id: sandbox.warehouseId,
        statement: merge,
        parameters: params('tc_1', 'queued'),
        wait_timeout: '0s',
      }),
    });
    expect(submitted.json.status.state).toBe('PENDING');
    expect((await poll(submitted.json.statement_id)).status.state).toBe('SUCCEEDED');
    const again = await api('/api/2.0/sql/statements', {
      method: 'POST',
      body: JSON.stringify({
        warehouse_id: sandbox.warehouseId,
        statement: merge,
        parameters: params('tc_1', 'succeeded'),
        wait_timeout: '5s',
      }),
    });
    expect(again.json.status.state).toBe('SUCCEEDED');
    expect(again.json.result.data_array).toEqual([['1', '1', '0', '0']]);
    expect(sandbox.rows('main.results.tool_calls').filter((r) => r.call_id === 'tc_1')).toEqual([
      { call_id: 'tc_1', status: 'succeeded', result: null },
    ]);
  });

  it('fails a statement on a missing table, an unbound parameter or an unsupported shape, in the status', async () => {
    const cases: [string, unknown[], RegExp][] = [
      [
        merge,
        [{ name: 'target', value: 'main.results.nope' }, ...params('x', 'y').slice(1)],
        /TABLE_OR_VIEW_NOT_FOUND/,
      ],
      [merge, params('x', 'y').slice(0, 2), /UNBOUND_SQL_PARAMETER.*status/],
      ['DELETE FROM main.results.tool_calls', [], /PARSE_SYNTAX_ERROR/],
    ];
    for (const [statement, parameters, message] of cases) {
      const answer = await api('/api/2.0/sql/statements', {
        method: 'POST',
        body: JSON.stringify({ warehouse_id: sandbox.warehouseId, statement, parameters, wait_timeout: '5s' }),
      });
      expect(answer.status).toBe(200);
      expect(answer.json.status.state).toBe('FAILED');
      expect(answer.json.status.error.error_code).toBe('BAD_REQUEST');
      expect(answer.json.status.error.message).toMatch(message);
    }
  });

  it('refuses a bad request itself: unknown warehouse, bad wait_timeout', async () => {
    const unknown = await api('/api/2.0/sql/statements', {
      method: 'POST',
      body: JSON.stringify({ warehouse_id: 'nope', statement: merge }),
    });
    expect(unknown.status).toBe(404);
    const badWait = await api('/api/2.0/sql/statements', {
      method: 'POST',
      body: JSON.stringify({ warehouse_id: sandbox.warehouseId, statement: merge, wait_timeout: '3s' }),
    });
    expect(badWait.status).toBe(400);
    expect(badWait.json.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('fails injected statements with the given error', async () => {
    sandbox.faults.failStatements({ errorCode: 'BAD_REQUEST', message: '[DELTA_CONCURRENT_APPEND] conflict' });
    const answer = await api('/api/2.0/sql/statements', {
      method: 'POST',
      body: JSON.stringify({
        warehouse_id: sandbox.warehouseId,
        statement: merge,
        parameters: params('tc_2', 'x'),
        wait_timeout: '5s',
      }),
    });
    expect(answer.json.status).toMatchObject({
      state: 'FAILED',
      error: { message: '[DELTA_CONCURRENT_APPEND] conflict' },
    });
    expect(sandbox.rows('main.results.tool_calls').some((r) => r.call_id === 'tc_2')).toBe(false);
  });
});

describe('job notifications', () => {
  it('sends the destination’s JSON with Basic credentials', async () => {
    const received: { auth?: string; body: unknown }[] = [];
    const { default: Fastify } = await import('fastify');
    const receiver = Fastify();
    receiver.post('/hook', async (request) => {
      received.push({ auth: request.headers.authorization, body: request.body });
      return {};
    });
    const url = await receiver.listen({ host: '127.0.0.1', port: 0 });
    const run = sandbox.addRun({ jobName: 'nightly', tasks: [{ taskKey: 'a' }, { taskKey: 'b' }] });
    const sent = await sandbox.fireWebhook(
      `${url}/hook`,
      sandbox.notificationPayload('jobs.on_success', run.runId, { taskKey: 'b' }),
      {
        username: 'u',
        password: 'p',
      },
    );
    await receiver.close();
    expect(sent.status).toBe(200);
    expect(received[0]?.auth).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(received[0]?.body).toEqual({
      event_type: 'jobs.on_success',
      workspace_id: sandbox.workspaceId,
      run: { run_id: run.tasks[1]?.runId, parent_run_id: run.runId },
      job: { job_id: run.jobId, name: 'nightly' },
      task: { task_key: 'b' },
    });
  });
});

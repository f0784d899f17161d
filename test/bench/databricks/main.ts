/**
 * `node test/bench/databricks/main.ts`: the Databricks webhook benchmark (docs/databricks.md).
 * N finished job runs, each notified twice as a workspace retrying a delivery would, against the
 * same N calls submitted through `/v1/tool-calls`, in one run on the same stack (the Databricks
 * sandbox, ingress, worker, the governed MCP server, the embedded store, Redis). Reports accepted
 * webhooks per second, calls made (must equal the distinct runs), and webhook → Delta row latency
 * p50/p99 against submit → Delta row on the API path. Knobs (env), defaults in brackets:
 *   BENCH_DATABRICKS_RUNS [2000], BENCH_DATABRICKS_CONCURRENCY [32], BENCH_DATABRICKS_TIMEOUT_S [900],
 *   BENCH_DATABRICKS_STALL_S [120], BENCH_DATABRICKS_OUT [test/bench/results/databricks-latest.json],
 *   REDIS_URL [redis://127.0.0.1:6379].
 * Bounded: a run none of whose deliveries was accepted is not waited for, and the wait for rows
 * ends when no new row has arrived for BENCH_DATABRICKS_STALL_S (or at BENCH_DATABRICKS_TIMEOUT_S);
 * the report then names the missing runs and what their deliveries were answered.
 * Exit code 0 when every run made exactly one call and one row on both paths, 1 otherwise.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hashPassword } from '@mcp-broker/broker-config';
import { RESULT_COLUMNS } from '@mcp-broker/databricks';
import { startDatabricksSandbox } from '@mcp-broker/databricks-sandbox';
import { startBrokerStack } from '../../support/broker-stack.ts';
import { brokerTestTools, invocations } from '../../support/broker-test-tools.ts';
import { percentiles } from '../broker/load.ts';
import { envNumber } from '../env-number.ts';

const runs = envNumber(process.env, 'BENCH_DATABRICKS_RUNS', 2000, 1);
const concurrency = envNumber(process.env, 'BENCH_DATABRICKS_CONCURRENCY', 32, 1);
const timeoutMs = envNumber(process.env, 'BENCH_DATABRICKS_TIMEOUT_S', 900, 1) * 1000;
const stallMs = envNumber(process.env, 'BENCH_DATABRICKS_STALL_S', 120, 1) * 1000;
const out = process.env.BENCH_DATABRICKS_OUT ?? 'test/bench/results/databricks-latest.json';
const TABLE = 'main.ops.tool_calls';

const sandbox = await startDatabricksSandbox();
sandbox.createTable(TABLE, [...RESULT_COLUMNS]);
const password = randomUUID();
const target = { type: 'databricks-sql', workspace: 'lakehouse', warehouseId: sandbox.warehouseId, table: TABLE };
const stack = await startBrokerStack({
  tools: brokerTestTools,
  callbackHost: '127.0.0.1',
  roles: ['Test.Echo'],
  databricks: {
    env: { BENCH_DATABRICKS_SECRET: sandbox.clientSecret },
    section: {
      workspaces: [
        {
          id: 'lakehouse',
          caller: 'caller-a',
          host: sandbox.host,
          auth: { type: 'oauth-m2m', clientId: sandbox.clientId, clientSecret: { fromEnv: 'BENCH_DATABRICKS_SECRET' } },
        },
      ],
      webhookSources: [
        {
          id: 'bench',
          workspace: 'lakehouse',
          caller: 'caller-a',
          auth: { username: 'databricks', passwordHash: await hashPassword(password, { N: 16384, r: 8, p: 1 }) },
          routes: [
            {
              match: { jobName: 'bench' },
              tool: 'test_echo',
              arguments: '{ "message": output.json.message }',
              writeBack: [target],
            },
          ],
        },
      ],
    },
  },
});

/** Runs `work(i)` for i in [0, n) with `concurrency` in flight. */
async function pool(n: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

/**
 * Waits until every key has a row with a final status; returns when each was first seen
 * (performance.now()) and why the wait ended. Gives up when no new row arrived for the stall
 * window or at the overall timeout, so a row that cannot come never hangs the benchmark.
 */
async function rowsSeen(keys: Map<string, number>, keyOf: (row: Record<string, unknown>) => string | undefined) {
  const seen = new Map<string, number>();
  const deadline = performance.now() + timeoutMs;
  let progressAt = performance.now();
  let ended: 'complete' | 'stalled' | 'timeout' = 'complete';
  while (seen.size < keys.size) {
    const now = performance.now();
    if (now >= deadline) {
      ended = 'timeout';
      break;
    }
    if (now - progressAt >= stallMs) {
      ended = 'stalled';
      break;
    }
    for (const row of sandbox.rows(TABLE)) {
      const key = keyOf(row);
      if (key && keys.has(key) && !seen.has(key) && (row.status === 'succeeded' || row.status === 'failed')) {
        seen.set(key, now);
        progressAt = now;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { seen, ended };
}

/** What one request was answered: its status and the error code of a refusal, or the network failure. */
async function answerOf(send: () => Promise<{ status: number; body: string }>): Promise<string> {
  try {
    const { status, body } = await send();
    if (status === 202) return '202';
    let code = '';
    try {
      code = String((JSON.parse(body) as { error?: { code?: unknown } }).error?.code ?? '');
    } catch {}
    return code ? `${status} ${code}` : String(status);
  } catch (error) {
    // A reset or timeout at the load generator: reported, not thrown, so the run still ends with its counts.
    return `network ${(error as Error).name}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`;
  }
}

const tag = randomUUID().slice(0, 8);
let errors = 0;
// Non-202 answers by status and error code, so a failed run says what it was refused with.
const refusals: Record<string, number> = {};
const tally = (answer: string) => {
  if (answer === '202') return true;
  errors++;
  refusals[answer] = (refusals[answer] ?? 0) + 1;
  return false;
};

// Webhooks: each run notified twice, the second right after the first answered.
const webhookRuns = Array.from({ length: runs }, (_, i) =>
  sandbox.addRun({
    jobName: 'bench',
    tasks: [{ taskKey: 't', notebookResult: JSON.stringify({ message: `wh-${tag}-${i}` }) }],
  }),
);
const firstFired = new Map<string, number>();
// Each run's answers, in delivery order: a run with none accepted cannot make a row and is not waited for.
const answers = new Map<string, string[]>();
const hookUrl = `${stack.ingressUrl}/webhooks/databricks/bench`;
const credentials = { username: 'databricks', password };
const hookStart = performance.now();
let accepted = 0;
await pool(runs, async (i) => {
  const run = webhookRuns[i];
  if (!run) return;
  const key = `databricks:${sandbox.workspaceId}:${run.runId}:jobs.on_success`;
  const body = sandbox.notificationPayload('jobs.on_success', run.runId);
  firstFired.set(key, performance.now());
  const got: string[] = [];
  answers.set(key, got);
  for (let delivery = 0; delivery < 2; delivery++) {
    const answer = await answerOf(() => sandbox.fireWebhook(hookUrl, body, credentials));
    got.push(answer);
    if (tally(answer)) accepted++;
  }
});
const hookSeconds = (performance.now() - hookStart) / 1000;
const expected = (all: Map<string, number>) =>
  new Map([...all].filter(([key]) => (answers.get(key) ?? ['202']).includes('202')));
const webhookWait = await rowsSeen(expected(firstFired), (row) => String(row.idempotency_key).replace(/:r0:t$/, ''));
const webhookRows = webhookWait.seen;
const webhookCalls = [...invocations.entries()].filter(([k]) => k.startsWith(`echo:wh-${tag}-`));

// The same calls through the API.
const submitted = new Map<string, number>();
const apiStart = performance.now();
await pool(runs, async (i) => {
  const key = `api-${tag}-${i}`;
  submitted.set(key, performance.now());
  const answer = await answerOf(async () => {
    const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
      method: 'POST',
      headers: { authorization: stack.auth('caller-a'), 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({
        tool: 'test_echo',
        arguments: { message: key },
        writeBack: [
          { kind: 'databricks-sql', workspace: target.workspace, warehouseId: target.warehouseId, table: TABLE },
        ],
      }),
    });
    return { status: res.status, body: await res.text() };
  });
  answers.set(key, [answer]);
  tally(answer);
});
const apiSeconds = (performance.now() - apiStart) / 1000;
const apiWait = await rowsSeen(expected(submitted), (row) => String(row.idempotency_key));
const apiRows = apiWait.seen;
const apiCalls = [...invocations.entries()].filter(([k]) => k.startsWith(`echo:api-${tag}-`));

const latency = (from: Map<string, number>, to: Map<string, number>) =>
  percentiles([...to.entries()].map(([key, at]) => at - (from.get(key) ?? at)));
// The runs with no row, each with its answers (at most 20 listed; the count is exact).
const missing = (all: Map<string, number>, seen: Map<string, number>) => {
  const keys = [...all.keys()].filter((key) => !seen.has(key));
  return {
    count: keys.length,
    runs: keys.slice(0, 20).map((key) => ({ key, answers: answers.get(key) ?? [] })),
  };
};
const rowsOf = (prefix: string) =>
  sandbox.rows(TABLE).filter((r) => String(r.idempotency_key).startsWith(prefix)).length;
const report = {
  runs,
  concurrency,
  webhooks: {
    delivered: runs * 2,
    acceptedPerSecond: Math.round((accepted / hookSeconds) * 10) / 10,
    callsMade: webhookCalls.reduce((n, [, count]) => n + count, 0),
    distinctRuns: runs,
    rows: rowsOf(`databricks:${sandbox.workspaceId}:`),
    webhookToRowMs: latency(firstFired, webhookRows),
    wait: webhookWait.ended,
    missing: missing(firstFired, webhookRows),
  },
  api: {
    submitted: runs,
    submittedPerSecond: Math.round((runs / apiSeconds) * 10) / 10,
    callsMade: apiCalls.reduce((n, [, count]) => n + count, 0),
    rows: rowsOf(`api-${tag}-`),
    submitToRowMs: latency(submitted, apiRows),
    wait: apiWait.ended,
    missing: missing(submitted, apiRows),
  },
  errors,
  refusals,
};
const ok =
  errors === 0 &&
  report.webhooks.callsMade === runs &&
  report.webhooks.rows === runs &&
  report.api.callsMade === runs &&
  report.api.rows === runs;
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ ...report, ok, at: new Date().toISOString() }, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
console.log(ok ? 'ok: one call and one row per run on both paths' : 'NOT ok: see the counts above');
// Closing is bounded too: a stuck close must not turn a finished run into a hang.
const closed = Promise.all([stack.close().then(() => sandbox.close())]);
const closeTimer = new Promise((r) => setTimeout(r, 30_000, 'timeout'));
if ((await Promise.race([closed, closeTimer])) === 'timeout')
  console.error('closing the stack took over 30 s; exiting');
process.exit(ok ? 0 : 1);

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { brokerConfigSchema, hashPassword } from '@mcp-broker/broker-config';
import { RESULT_COLUMNS } from '@mcp-broker/databricks';
import { startDatabricksSandbox } from '@mcp-broker/databricks-sandbox';
import { startDemoBroker } from './demo-broker.ts';
import type { DemoStep } from './salesforce-demo.ts';
import type { DevStack } from './start-dev.ts';

export interface DatabricksDemoOptions {
  stack: Pick<DevStack, 'mcpUrl' | 'tokenEndpoint' | 'credentialsPath' | 'sampleOpportunity'>;
  redisUrl: string;
  print: (line: string) => void;
  /** How long to wait for the rows, in ms. Default 60,000. */
  timeoutMs?: number;
}

const TABLE = 'main.ops.account_actions';

/**
 * The Databricks story: a nightly job scored accounts and finished at 3 a.m.; its notification
 * destination rings the broker; the broker fetches the run and its output from the Jobs API,
 * calls `next_best_action` through the governed MCP server once per scored account as the
 * `data-team` caller, and merges each result into a Delta table the data team reads. Runs beside
 * the dev stack on its own Databricks sandbox, ingress, worker, store and Redis key prefix, with
 * the stack's MCP server and OAuth server, so the dev launcher's own configuration is untouched.
 */
export async function runDatabricksDemo(options: DatabricksDemoOptions): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const record = (step: string, ok: boolean, detail: string) => {
    steps.push({ step, ok, detail });
    options.print(`${ok ? '✔' : '✘'} ${step}\n    ${detail.split('\n').join('\n    ')}`);
    return ok;
  };
  const { stack } = options;
  const secrets = (JSON.parse(await readFile(stack.credentialsPath, 'utf8')) as { secrets: Record<string, string> })
    .secrets;
  const sandbox = await startDatabricksSandbox();
  sandbox.createTable(TABLE, [...RESULT_COLUMNS]);
  const password = randomUUID();
  const prefix = `mcpb-databricks-demo:${randomUUID().slice(0, 8)}:`;
  const broker = brokerConfigSchema.parse({
    broker: { keyPrefix: prefix },
    endpoints: { local: { url: `${stack.mcpUrl}/mcp` } },
    callers: [
      {
        id: 'data-team',
        auth: {
          type: 'basic',
          username: 'data-team',
          passwordHash: await hashPassword(randomUUID(), { N: 1024, r: 8, p: 1 }),
        },
        upstream: {
          endpoint: 'local',
          credential: {
            type: 'client-credentials',
            tokenUrl: stack.tokenEndpoint,
            clientId: 'broker-demo',
            clientSecret: { fromEnv: 'DEMO_UPSTREAM_SECRET' },
            scope: 'api://mcp-broker/.default',
          },
        },
        tools: ['next_best_action'],
      },
    ],
    databricks: {
      workspaces: [
        {
          id: 'lakehouse',
          caller: 'data-team',
          host: sandbox.host,
          workspaceId: sandbox.workspaceId,
          auth: { type: 'oauth-m2m', clientId: sandbox.clientId, clientSecret: { fromEnv: 'DEMO_DATABRICKS_SECRET' } },
        },
      ],
      webhookSources: [
        {
          id: 'nightly',
          workspace: 'lakehouse',
          caller: 'data-team',
          auth: { username: 'databricks', passwordHash: await hashPassword(password, { N: 1024, r: 8, p: 1 }) },
          routes: [
            {
              match: { jobName: 'nightly-account-scoring', eventTypes: ['jobs.on_success'] },
              tool: 'next_best_action',
              per: 'row',
              rows: 'output.json.accounts',
              arguments: '{ "customer_id": row.customer_id }',
              writeBack: [
                { type: 'databricks-sql', workspace: 'lakehouse', warehouseId: sandbox.warehouseId, table: TABLE },
              ],
            },
          ],
        },
      ],
    },
  });
  const env = { DEMO_UPSTREAM_SECRET: secrets['broker-demo'], DEMO_DATABRICKS_SECRET: sandbox.clientSecret };
  const demo = await startDemoBroker({ name: 'databricks-demo', broker, redisUrl: options.redisUrl, env });
  const { ingress } = demo;
  try {
    const accounts = [
      stack.sampleOpportunity.customerId,
      stack.sampleOpportunity.customerId === 'cus-000001' ? 'cus-000003' : 'cus-000001',
    ];
    const run = sandbox.addRun({
      jobName: 'nightly-account-scoring',
      tasks: [
        { taskKey: 'ingest', notebookResult: JSON.stringify({ rows: 1200 }) },
        {
          taskKey: 'score',
          notebookResult: JSON.stringify({ accounts: accounts.map((customer_id) => ({ customer_id, score: 0.8 })) }),
        },
      ],
    });
    options.print(
      `\nDatabricks: job "nightly-account-scoring" finished (run ${run.runId}, tasks ingest and score); its output scores ${accounts.length} accounts.`,
    );
    const payload = sandbox.notificationPayload('jobs.on_success', run.runId);
    const hook = `${ingress.url}/webhooks/databricks/nightly`;
    const answer = await sandbox.fireWebhook(hook, payload, { username: 'databricks', password });
    record(
      'the notification destination rings the broker',
      answer.status === 202,
      `POST ${hook} (HTTP Basic) ${JSON.stringify(payload)}\n→ ${answer.status} ${answer.body}`,
    );
    const again = await sandbox.fireWebhook(hook, payload, { username: 'databricks', password });
    record(
      'Databricks retries the delivery: nothing new',
      again.status === 202 && again.body.includes('"duplicate"'),
      `→ ${again.status} ${again.body}`,
    );
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const done = () => sandbox.rows(TABLE).filter((r) => r.status === 'succeeded' || r.status === 'failed');
    while (done().length < accounts.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const rows = sandbox.rows(TABLE);
    const fetched = sandbox.requests
      .filter((q) => q.path.startsWith('/api/2.2/jobs/'))
      .map((q) => `${q.method} ${q.url}`);
    record(
      'the broker fetched the run and its output with its own credentials',
      fetched.length >= 2,
      fetched.join('\n'),
    );
    record(
      `next_best_action ran once per scored account, as caller data-team, and each result is a row in ${TABLE}`,
      rows.length === accounts.length && rows.every((r) => r.status === 'succeeded'),
      rows
        .map((r) => {
          const action = (() => {
            try {
              return JSON.stringify(JSON.parse(String(r.result))).slice(0, 140);
            } catch {
              return String(r.result).slice(0, 140);
            }
          })();
          return `${r.call_id}  ${r.status}  ${r.tool}  ${action}`;
        })
        .join('\n') || '(no rows)',
    );
  } finally {
    await demo.close();
    await sandbox.close();
  }
  return steps;
}

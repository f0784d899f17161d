import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchRunView } from '@mcp-broker/contracts';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enrichment, enrichTool } from '../support/batch-test-tools.ts';
import { type BrokerStack, startBrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';

// A worker process SIGKILLed in the middle of a batch run: another one takes the run job over once
// its lock lapses and resumes from the checkpoint. No record whose call had finished is called
// again, and each record is written back once.

let sandbox: SalesforceSandbox;
let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let configPath: string;
const children: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['services/worker/src/main.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...process.env, ...stack.childWorkerEnv(configPath) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ longPollTimeoutMs: 2_000 });
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: [enrichTool],
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    inProcessWorker: false,
    workerEnv: { JOB_LOCK_MS: '2000', SALESFORCE_EVENTS: 'false' },
    salesforce: {
      loginUrl: sandbox.loginUrl,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
      apiVersion: sandbox.apiVersion,
    },
    schedules: [
      {
        id: 'crash-run',
        cron: '0 0 1 1 *',
        caller: 'caller-a',
        // Cosmos pages of 7, so the kill lands between page checkpoints and mid-page.
        source: {
          type: 'cosmos-query',
          container: 'accounts',
          query: "SELECT * FROM c WHERE c.customerId = 'batch-crash' ORDER BY c.name",
        },
        recordId: 'sfId',
        tool: 'test_enrich',
        arguments: '{ "account_id": sfId, "name": name, "delay_ms": 80 }',
        writeBack: {
          type: 'salesforce-record',
          org: 'org-a',
          sobject: 'Account',
          fields: { Description: 'structuredContent.action' },
        },
        concurrency: 2,
        callsPerMinute: 6000,
        pageSize: 7,
      },
    ],
  });
  configPath = join(await mkdtemp(join(tmpdir(), 'mcpb-batch-crash-')), 'broker.json');
  await writeFile(configPath, JSON.stringify(stack.broker));
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stack?.close();
  await sandbox?.close();
  await receiver?.close();
}, 60_000);

async function getRun(id: string): Promise<BatchRunView> {
  const res = await fetch(`${stack.ingressUrl}/v1/batch-runs/${id}`, {
    headers: { authorization: stack.auth('caller-a') },
  });
  return (await res.json()) as BatchRunView;
}

/** The records whose call the store holds as succeeded now. */
async function finishedRecords(runId: string): Promise<string[]> {
  const { resources } = await stack.store
    .container('toolCalls')
    .items.query<{ idempotencyKey: string }>({
      query: "SELECT c.idempotencyKey FROM c WHERE c.source.reference = @run AND c.status = 'succeeded'",
      parameters: [{ name: '@run', value: runId }],
    })
    .fetchAll();
  return resources.map((r) => r.idempotencyKey.split('/').pop() as string);
}

describe('a worker killed mid-run', () => {
  it('resumes the run on another worker; no finished record is called again, each is written back once', async () => {
    const ids = Array.from({ length: 60 }, (_, i) =>
      sandbox.insertRecord('Account', { Name: `Crash ${String(i).padStart(3, '0')}`, Industry: 'Crash' }),
    );
    // The selection comes from the store; each item names its Salesforce account.
    for (const [i, sfId] of ids.entries()) {
      await stack.store.container('accounts').items.create({
        id: `crash-${i}`,
        customerId: 'batch-crash',
        sfId,
        name: `Crash ${String(i).padStart(3, '0')}`,
      });
    }
    const first = startWorkerProcess();
    const res = await fetch(`${stack.ingressUrl}/v1/schedules/crash-run/runs`, {
      method: 'POST',
      headers: { authorization: stack.auth('caller-a'), 'idempotency-key': randomUUID() },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await vi.waitFor(() => expect(ids.filter((a) => enrichment.completions.has(a)).length).toBeGreaterThanOrEqual(15), {
      timeout: 30_000,
      interval: 20,
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const finishedAtKill = await finishedRecords(id);
    expect(finishedAtKill.length).toBeGreaterThanOrEqual(10);
    expect((await getRun(id)).status).toBe('running');

    startWorkerProcess();
    let run: BatchRunView | undefined;
    await vi.waitFor(
      async () => {
        run = await getRun(id);
        expect(run.status).toBe('succeeded');
      },
      { timeout: 60_000, interval: 200 },
    );
    expect(run?.counts).toMatchObject({ selected: 60, called: 60, succeeded: 60, failed: 0, writtenBack: 60 });
    for (const account of finishedAtKill) expect(enrichment.invocations.get(account), account).toBe(1);
    // Only the calls in flight when the worker died (at most the schedule's concurrency) ran twice.
    const repeated = ids.filter((a) => (enrichment.invocations.get(a) ?? 0) > 1);
    expect(repeated.length).toBeLessThanOrEqual(2);
    for (const a of ids) expect(enrichment.completions.get(a) ?? 0).toBeGreaterThanOrEqual(1);
    const byId = new Map(sandbox.records('Account').map((r) => [r.Id, r]));
    for (const a of ids) expect(byId.get(a)?.Description).toBe(`Call ${byId.get(a)?.Name} about renewal`);
    console.log(
      `batch worker crash: ${finishedAtKill.length} records finished at the kill, none called again; ${repeated.length} in flight ran twice; run took ${run?.durationMs} ms`,
    );
  }, 120_000);
});

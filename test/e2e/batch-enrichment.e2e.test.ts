import { randomUUID } from 'node:crypto';
import { BatchQueue } from '@mcp-broker/batch';
import type { BatchRunView } from '@mcp-broker/contracts';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enrichment, enrichTool } from '../support/batch-test-tools.ts';
import {
  type BrokerStack,
  REDIS_URL,
  settledCall,
  startBrokerStack,
  startCallbackReceiver,
} from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

// Scheduled batch enrichment end to end on real peers: the Salesforce sandbox (SOQL query with
// nextRecordsUrl, SObject Collections), the worker's batch engine (BullMQ job schedulers and run
// jobs), the broker core's intake, the governed MCP server, the embedded store, real Redis.

let sandbox: SalesforceSandbox;
let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let ticks: BatchQueue;
let redis: Redis;

const YEARLY = '0 0 1 1 *';
const writeBack = {
  type: 'salesforce-record',
  org: 'org-a',
  sobject: 'Account',
  fields: {
    Score__c: 'structuredContent.score',
    Description: 'structuredContent.action',
    Last_Enriched__c: 'call.completedAt',
  },
  // Small chunks, so the write-back's checkpoint from chunk to chunk is exercised.
  chunkSize: 7,
};
const schedule = (id: string, industry: string, over: Record<string, unknown> = {}) => ({
  id,
  cron: YEARLY,
  timeZone: 'Europe/Paris',
  caller: 'caller-a',
  source: {
    type: 'salesforce-soql',
    org: 'org-a',
    query: `SELECT Id, Name FROM Account WHERE Industry = '${industry}' ORDER BY Name`,
  },
  tool: 'test_enrich',
  arguments: '{ "account_id": Id, "name": Name }',
  concurrency: 3,
  callsPerMinute: 6000,
  ...over,
});

function seed(industry: string, count: number, name = (i: number) => `${industry} ${String(i).padStart(3, '0')}`) {
  return Array.from({ length: count }, (_, i) =>
    sandbox.insertRecord('Account', { Name: name(i), Industry: industry }),
  );
}

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({
    longPollTimeoutMs: 2_000,
    objects: {
      Account: {
        fields: {
          Name: { length: 255, required: true, label: 'Account Name' },
          Industry: { type: 'picklist', length: 255 },
          Description: { type: 'textarea', length: 32000 },
          Score__c: { type: 'int' },
          Last_Enriched__c: { type: 'datetime' },
        },
        validationRules: [
          {
            errorMessage: 'Rejected accounts cannot be scored',
            errorField: 'Score__c',
            failsWhen: (r) => String(r.Name).startsWith('Reject') && r.Score__c !== undefined && r.Score__c !== null,
          },
        ],
      },
    },
  });
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: [...brokerTestTools, enrichTool],
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    salesforce: {
      loginUrl: sandbox.loginUrl,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
      apiVersion: sandbox.apiVersion,
    },
    schedules: [
      schedule('enrich-retail', 'Retail', {
        writeBack,
        pageSize: 200,
        summaryEvent: { type: 'salesforce-event', org: 'org-a' },
      }),
      schedule('enrich-wholesale-bulk', 'Wholesale', { writeBack: { ...writeBack, bulkAbove: 5, bulkJobSize: 8 } }),
      schedule('bad-query', 'Retail', {
        source: { type: 'salesforce-soql', org: 'org-a', query: 'SELECT Id FORM Account' },
      }),
      schedule('flaky-source', 'Energy'),
      schedule('slow-skip', 'Media', {
        arguments: '{ "account_id": Id, "name": Name, "delay_ms": 150 }',
        concurrency: 1,
      }),
      schedule('slow-wait', 'Media', {
        arguments: '{ "account_id": Id, "name": Name, "delay_ms": 100 }',
        concurrency: 1,
        overlap: 'wait',
      }),
      schedule('large', 'Bulk', { arguments: '{ "account_id": Id, "name": Name, "delay_ms": 100 }', concurrency: 2 }),
      schedule('bad-records', 'Odd', { arguments: '{ "account_id": Id, "name": $substringBefore(Name, "!") }' }),
    ],
  });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  ticks = new BatchQueue({ connection: redis, prefix: stack.prefix });
}, 60_000);

afterAll(async () => {
  await ticks?.close();
  redis?.disconnect();
  await stack?.close();
  await sandbox?.close();
  await receiver?.close();
}, 60_000);

async function startRun(id: string): Promise<string> {
  const res = await fetch(`${stack.ingressUrl}/v1/schedules/${id}/runs`, {
    method: 'POST',
    headers: { authorization: stack.auth('caller-a'), 'idempotency-key': randomUUID() },
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function getRun(id: string, caller: 'caller-a' | 'caller-b' = 'caller-a'): Promise<BatchRunView> {
  const res = await fetch(`${stack.ingressUrl}/v1/batch-runs/${id}`, {
    headers: { authorization: stack.auth(caller) },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as BatchRunView;
}

async function runEnds(id: string, timeout = 60_000): Promise<BatchRunView> {
  let view: BatchRunView | undefined;
  await vi.waitFor(
    async () => {
      view = await getRun(id);
      expect(['succeeded', 'failed', 'cancelled', 'skipped']).toContain(view.status);
    },
    { timeout, interval: 100 },
  );
  return view as BatchRunView;
}

/** Simulates a tick of the schedule's job scheduler (the cron is yearly, so none comes by itself). */
async function tick(scheduleId: string): Promise<void> {
  await ticks.queue.add('tick', { schedule: scheduleId }, { jobId: `test-tick-${randomUUID()}` });
}

async function runsOf(scheduleId: string) {
  const { resources } = await stack.store
    .container('batchRuns')
    .items.query<{ id: string; status: string; error?: { code: string }; startedAt?: string; completedAt?: string }>({
      query: 'SELECT * FROM c WHERE c.schedule = @s ORDER BY c.createdAt ASC',
      parameters: [{ name: '@s', value: scheduleId }],
    })
    .fetchAll();
  return resources;
}

describe('batch runs: what fails', () => {
  it("fails a run whose query Salesforce refuses, with Salesforce's code and message", async () => {
    const run = await runEnds(await startRun('bad-query'));
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('SALESFORCE_MALFORMED_QUERY');
    expect(run.error?.message).toContain('unexpected token: FORM');
    expect(run.counts).toMatchObject({ selected: 0, called: 0 });
  });

  it('retries a source page that fails transiently, and the run completes', async () => {
    const ids = seed('Energy', 5);
    sandbox.faults.requestLimitExceeded({ count: 1 });
    const run = await runEnds(await startRun('flaky-source'));
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ selected: 5, called: 5, succeeded: 5, failed: 0 });
    for (const id of ids) expect(enrichment.completions.get(id)).toBe(1);
  });

  it('skips a record its expression fails on, counted under BATCH_RECORD_INVALID, and calls the others', async () => {
    seed('Odd', 3, (i) => (i === 0 ? '!starts with the separator' : `Odd ${i}!`));
    const run = await runEnds(await startRun('bad-records'));
    expect(run.status).toBe('succeeded');
    // $substringBefore gives "" for the first: not a valid tool argument, refused by the core and recorded.
    expect(run.counts.selected).toBe(3);
    expect(run.counts.succeeded).toBe(2);
    expect(run.counts.failed + run.counts.skipped).toBe(1);
    expect(run.errorsByCode.map((e) => e.code)).toContain('BROKER_INVALID_ARGUMENTS');
  });

  it('answers 404 to another caller reading the run', async () => {
    const id = await startRun('flaky-source');
    const res = await fetch(`${stack.ingressUrl}/v1/batch-runs/${id}`, {
      headers: { authorization: stack.auth('caller-b') },
    });
    expect(res.status).toBe(404);
    await runEnds(id);
  });
});

describe('batch runs: end to end', () => {
  it('selects, calls once per record, writes back in chunks, and records per-record write-back failures', async () => {
    const accepted = seed('Retail', 27);
    const rejected = seed('Retail', 3, (i) => `Reject ${i}`);
    const run = await runEnds(await startRun('enrich-retail'));
    expect(run.status).toBe('succeeded');
    expect(run.counts).toEqual({
      selected: 30,
      called: 30,
      succeeded: 30,
      failed: 0,
      skipped: 0,
      writtenBack: 27,
      writeBackFailed: 3,
    });
    expect(run.errorsByCode).toEqual([{ code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION', count: 3 }]);
    expect(run.writeBackFailures).toHaveLength(3);
    expect(run.writeBackFailures.map((f) => f.recordId).sort()).toEqual([...rejected].sort());
    expect(run.writeBackFailures[0]?.message).toContain('Rejected accounts cannot be scored');
    expect(run.durationMs).toBeGreaterThan(0);
    expect(run.progress).toBe(1);
    const byId = new Map(sandbox.records('Account').map((r) => [r.Id, r]));
    for (const id of accepted) {
      const record = byId.get(id) as Record<string, unknown>;
      expect(record.Description).toBe(`Call ${record.Name} about renewal`);
      expect(record.Score__c).toBe(String(record.Name).length % 10);
      expect(record.Last_Enriched__c).toBeTruthy();
      expect(enrichment.invocations.get(id)).toBe(1);
    }
    for (const id of rejected) expect(byId.get(id)?.Score__c ?? null).toBeNull();
    // The schedule list shows the run as its last.
    const list = await fetch(`${stack.ingressUrl}/v1/schedules`, {
      headers: { authorization: stack.auth('caller-a') },
    });
    const schedules = (
      (await list.json()) as { items: Array<{ id: string; lastRun?: { id: string }; nextRunAt?: string }> }
    ).items;
    const retail = schedules.find((s) => s.id === 'enrich-retail');
    expect(retail?.lastRun?.id).toBe(run.id);
    expect(Date.parse(retail?.nextRunAt ?? '')).toBeGreaterThan(Date.now());
    expect(schedules.some((s) => s.id === 'other')).toBe(false);
    // The summary event, once.
    const summaries = sandbox
      .retainedEvents('/event/MCP_Batch_Run__e')
      .filter((e) => e.data.payload.Run_Id__c === run.id);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.data.payload).toMatchObject({ Schedule__c: 'enrich-retail', Status__c: 'succeeded' });
    expect(JSON.parse(String(summaries[0]?.data.payload.Counts__c))).toMatchObject({ selected: 30, writtenBack: 27 });
  });
});

describe('batch runs: Bulk API 2.0 write-back', () => {
  it('writes a run above bulkAbove back with ingest jobs, recording the rows Salesforce refused', async () => {
    const accepted = seed('Wholesale', 10);
    const rejected = seed('Wholesale', 2, (i) => `Reject wholesale ${i}`);
    const run = await runEnds(await startRun('enrich-wholesale-bulk'));
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ selected: 12, succeeded: 12, writtenBack: 10, writeBackFailed: 2 });
    expect(run.errorsByCode).toEqual([{ code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION', count: 2 }]);
    expect(run.writeBackFailures.map((f) => f.recordId).sort()).toEqual([...rejected].sort());
    expect(run.writeBackFailures[0]?.message).toContain('Rejected accounts cannot be scored');
    const byId = new Map(sandbox.records('Account').map((r) => [r.Id, r]));
    for (const id of accepted) {
      const record = byId.get(id) as Record<string, unknown>;
      expect(record.Description).toBe(`Call ${record.Name} about renewal`);
      expect(record.Score__c).toBe(String(record.Name).length % 10);
    }
  });
});

describe('batch runs: overlap', () => {
  it('records a tick that finds the previous run still going as skipped (overlap: skip)', async () => {
    seed('Media', 12);
    const first = await startRun('slow-skip');
    await vi.waitFor(async () => expect((await getRun(first)).status).toBe('running'), { timeout: 10_000 });
    await tick('slow-skip');
    await vi.waitFor(async () => expect((await runsOf('slow-skip')).map((r) => r.status)).toContain('skipped'), {
      timeout: 10_000,
    });
    const skipped = (await runsOf('slow-skip')).find((r) => r.status === 'skipped');
    expect(skipped?.error?.code).toBe('BATCH_RUN_OVERLAP');
    expect((await getRun(first)).status).toBe('running');
    expect((await runEnds(first)).status).toBe('succeeded');
  });

  it('queues a tick behind the run going and starts it when that ends (overlap: wait)', async () => {
    const first = await startRun('slow-wait');
    await vi.waitFor(async () => expect((await getRun(first)).status).toBe('running'), { timeout: 10_000 });
    await tick('slow-wait');
    await tick('slow-wait');
    await vi.waitFor(async () => expect(await runsOf('slow-wait')).toHaveLength(3), { timeout: 10_000 });
    const [, waiting, third] = await runsOf('slow-wait');
    // One waits; a second tick while one is already waiting is skipped.
    expect(waiting?.status).toBe('queued');
    expect(third).toMatchObject({ status: 'skipped', error: { code: 'BATCH_RUN_OVERLAP' } });
    const done = await runEnds(first);
    const second = await runEnds(waiting?.id as string);
    expect(second.status).toBe('succeeded');
    expect(Date.parse(second.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(done.completedAt as string));
  });
});

describe('batch runs: interactive calls of the same caller', () => {
  it('start within the caller’s concurrency while a large batch runs; the batch never exceeds its own', async () => {
    seed('Bulk', 200);
    const id = await startRun('large');
    await vi.waitFor(async () => expect((await getRun(id)).counts.called).toBeGreaterThan(4), { timeout: 20_000 });
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const submitted = Date.now();
      const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
        method: 'POST',
        headers: {
          authorization: stack.auth('caller-a'),
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify({ tool: 'test_echo', arguments: { message: `interactive-${i}` } }),
      });
      const { id: callId } = (await res.json()) as { id: string };
      const view = await settledCall(stack, callId);
      expect(view.status).toBe('succeeded');
      delays.push(Date.parse(view.startedAt as string) - Date.parse(view.createdAt));
      expect(Date.now() - submitted).toBeLessThan(5_000);
    }
    delays.sort((a, b) => a - b);
    const during = await getRun(id);
    console.log(
      `interactive calls during a batch (schedule concurrency 2, caller 4): start delay p50 ${delays[4]} ms, max ${delays[9]} ms; batch ${during.counts.called}/${200} called meanwhile`,
    );
    expect(during.status).toBe('running');
    expect(delays[9]).toBeLessThan(1_000);
    // The schedule's concurrency holds at the tool itself.
    expect(enrichment.maxRunning.get('Bulk')).toBe(2);
    // Cancel: no more records are selected and the calls not started are cancelled.
    const cancel = await fetch(`${stack.ingressUrl}/v1/batch-runs/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: stack.auth('caller-a') },
    });
    expect(cancel.status).toBe(200);
    const ended = await runEnds(id);
    expect(ended.status).toBe('cancelled');
    expect(ended.counts.selected).toBeLessThan(200);
    // Every record selected ended one way: called and finished, or cancelled before it started.
    expect(ended.counts.succeeded + ended.counts.failed + ended.counts.skipped).toBe(ended.counts.selected);
    // The calls in flight at the cancel finished; none of the rest was selected.
    expect(ended.counts.called).toBeLessThan(200);
  });
});

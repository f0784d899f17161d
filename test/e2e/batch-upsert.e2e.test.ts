import { randomUUID } from 'node:crypto';
import type { BatchRunView } from '@mcp-broker/contracts';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enrichment, enrichTool } from '../support/batch-test-tools.ts';
import { type BrokerStack, startBrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';
import { brokerTestTools } from '../support/broker-test-tools.ts';

// Batch write-back by external id (writeBack.externalIdField) through a whole run: the worker's
// run job, the Bulk API 2.0 upsert job above bulkAbove and the SObject Collections upsert below
// it, against the Salesforce sandbox's upsert rules; and the write-back checked against the
// org's describe when a run starts.

let sandbox: SalesforceSandbox;
let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

const schedule = (id: string, industry: string, over: Record<string, unknown>) => ({
  id,
  cron: '0 0 1 1 *',
  caller: 'caller-a',
  source: {
    type: 'salesforce-soql',
    org: 'org-a',
    query: `SELECT Id, Name, Legacy_Key__c FROM Account WHERE Industry = '${industry}' ORDER BY Name`,
  },
  tool: 'test_enrich',
  arguments: '{ "account_id": Id, "name": Name }',
  concurrency: 3,
  callsPerMinute: 6000,
  ...over,
});

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({
    objects: {
      Account: {
        fields: {
          Name: { length: 255, required: true },
          Industry: { type: 'picklist', length: 255 },
          Description: { type: 'textarea', length: 32000 },
          Score__c: { type: 'int' },
          // Not unique: two Accounts may carry one key, which an upsert cannot resolve.
          Legacy_Key__c: { length: 40, externalId: true, unique: false },
        },
      },
      // Written back by one schedule only, so its describe is not cached when that run starts.
      Enrichment__c: {
        fields: {
          Account_Key__c: { length: 18, externalId: true },
          Action__c: { length: 255 },
        },
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
      // The Accounts themselves, matched on their legacy key (the run's record id), in Bulk jobs of 4.
      schedule('partner-upsert-bulk', 'Partner', {
        recordId: 'Legacy_Key__c',
        writeBack: {
          type: 'salesforce-record',
          org: 'org-a',
          sobject: 'Account',
          externalIdField: 'Legacy_Key__c',
          fields: { Description: 'structuredContent.action', Score__c: 'structuredContent.score' },
          bulkAbove: 3,
          bulkJobSize: 4,
        },
      }),
      // One MCP_Result__c per Account, keyed "enrich-<account id>": created by the first run,
      // updated (never created twice) by the next.
      schedule('results-upsert', 'Reseller', {
        writeBack: {
          type: 'salesforce-record',
          org: 'org-a',
          sobject: 'MCP_Result__c',
          externalIdField: 'Request_Id__c',
          recordId: '"enrich-" & $recordId',
          fields: { Status__c: 'status', Tool__c: 'tool', Completed_At__c: 'call.completedAt' },
        },
      }),
      // The write-back checked against the describe: a wrong name fails the run before any call.
      schedule('unknown-key', 'Ghost', {
        writeBack: { ...accountUpsert, externalIdField: 'Legacy_Kee__c' },
      }),
      schedule('not-a-key', 'Ghost', { writeBack: { ...accountUpsert, externalIdField: 'Industry' } }),
      schedule('unknown-sobject', 'Ghost', { writeBack: { ...accountUpsert, sobject: 'Acount' } }),
      schedule('unknown-field', 'Ghost', {
        writeBack: { ...accountUpsert, fields: { Score__c: 'structuredContent.score', Scroe__c: 'text' } },
      }),
      schedule('enrichment-upsert', 'Flaky', {
        writeBack: {
          type: 'salesforce-record',
          org: 'org-a',
          sobject: 'Enrichment__c',
          externalIdField: 'Account_Key__c',
          fields: { Action__c: 'structuredContent.action' },
        },
      }),
    ],
  });
}, 60_000);

const accountUpsert = {
  type: 'salesforce-record',
  org: 'org-a',
  sobject: 'Account',
  externalIdField: 'Legacy_Key__c',
  fields: { Score__c: 'structuredContent.score' },
};

afterAll(async () => {
  await stack?.close();
  await sandbox?.close();
  await receiver?.close();
}, 60_000);

async function run(scheduleId: string): Promise<BatchRunView> {
  const started = await fetch(`${stack.ingressUrl}/v1/schedules/${scheduleId}/runs`, {
    method: 'POST',
    headers: { authorization: stack.auth('caller-a'), 'idempotency-key': randomUUID() },
  });
  expect(started.status).toBe(202);
  // The stack's ingress listens on port 0: its links name the port it was given.
  const { id, statusUrl } = (await started.json()) as { id: string; statusUrl: string };
  expect(statusUrl).toBe(`${stack.ingressUrl}/v1/batch-runs/${id}`);
  expect(started.headers.get('location')).toBe(statusUrl);
  let view: BatchRunView | undefined;
  await vi.waitFor(
    async () => {
      view = (await (
        await fetch(statusUrl, { headers: { authorization: stack.auth('caller-a') } })
      ).json()) as BatchRunView;
      expect(['succeeded', 'failed', 'cancelled']).toContain(view.status);
    },
    { timeout: 60_000, interval: 100 },
  );
  return view as BatchRunView;
}

describe('batch write-back by external id', () => {
  it('above bulkAbove, upserts with Bulk jobs; a key two records share fails that record only', async () => {
    const ids = Array.from({ length: 6 }, (_, i) =>
      sandbox.insertRecord('Account', { Name: `Partner ${i}`, Industry: 'Partner', Legacy_Key__c: `legacy-${i}` }),
    );
    // Outside the selection, but carrying the key of Partner 5: the upsert cannot tell which is meant.
    const twin = sandbox.insertRecord('Account', { Name: 'Twin', Industry: 'Other', Legacy_Key__c: 'legacy-5' });
    const view = await run('partner-upsert-bulk');
    expect(view.status).toBe('succeeded');
    expect(view.counts).toMatchObject({ selected: 6, succeeded: 6, writtenBack: 5, writeBackFailed: 1 });
    expect(view.errorsByCode).toEqual([{ code: 'SALESFORCE_DUPLICATE_EXTERNAL_ID', count: 1 }]);
    expect(view.writeBackFailures).toEqual([
      {
        recordId: 'legacy-5',
        code: 'SALESFORCE_DUPLICATE_EXTERNAL_ID',
        message: expect.stringContaining(`more than one record found for external id field: [${ids[5]}, ${twin}]`),
      },
    ]);
    const byId = new Map(sandbox.records('Account').map((r) => [r.Id, r]));
    for (const id of ids.slice(0, 5)) {
      expect(byId.get(id)).toMatchObject({ Description: `Call ${byId.get(id)?.Name} about renewal` });
    }
    expect(byId.get(ids[5] as string)?.Description ?? null).toBeNull();
    expect(byId.get(twin)?.Description ?? null).toBeNull();
    // Updated in place: no Account was created by the upsert.
    expect(sandbox.records('Account')).toHaveLength(7);
  });

  it('below bulkAbove, creates the records no key matches, and a second run updates them', async () => {
    const accounts = Array.from({ length: 4 }, (_, i) =>
      sandbox.insertRecord('Account', { Name: `Reseller ${i}`, Industry: 'Reseller' }),
    );
    const first = await run('results-upsert');
    expect(first.counts).toMatchObject({ selected: 4, succeeded: 4, writtenBack: 4, writeBackFailed: 0 });
    const results = () => sandbox.records('MCP_Result__c').filter((r) => String(r.Request_Id__c).startsWith('enrich-'));
    expect(
      results()
        .map((r) => r.Request_Id__c)
        .sort(),
    ).toEqual(accounts.map((id) => `enrich-${id}`).sort());
    expect(results().every((r) => r.Status__c === 'succeeded' && r.Tool__c === 'test_enrich')).toBe(true);
    const created = new Map(results().map((r) => [r.Request_Id__c, r.Id]));

    const second = await run('results-upsert');
    expect(second.counts).toMatchObject({ selected: 4, writtenBack: 4, writeBackFailed: 0 });
    expect(results()).toHaveLength(4);
    for (const r of results()) expect(r.Id).toBe(created.get(r.Request_Id__c));
  });
});

describe('the write-back checked against the org describe at the start of a run', () => {
  const ghosts: string[] = [];
  beforeAll(() => {
    for (let i = 0; i < 3; i++) ghosts.push(sandbox.insertRecord('Account', { Name: `Ghost ${i}`, Industry: 'Ghost' }));
  });
  const called = () => ghosts.reduce((n, id) => n + (enrichment.invocations.get(id) ?? 0), 0);

  it.each([
    ['unknown-key', 'writeBack.externalIdField: Account has no field "Legacy_Kee__c"'],
    [
      'not-a-key',
      'writeBack.externalIdField: Account.Industry is no External ID (or idLookup) field, so an upsert cannot match on it',
    ],
    ['unknown-sobject', 'writeBack.sobject: the org has no sObject "Acount"'],
    ['unknown-field', 'writeBack.fields.Scroe__c: Account has no field "Scroe__c"'],
  ])('schedule %s fails with BATCH_WRITE_BACK_INVALID before any tool call', async (id, problem) => {
    const view = await run(id);
    expect(view.status).toBe('failed');
    expect(view.error).toEqual({ code: 'BATCH_WRITE_BACK_INVALID', message: expect.stringContaining(problem) });
    expect(view.error?.message).toMatch(new RegExp(`^Schedule "${id}": the write-back to Ac?count in org "org-a"`));
    expect(view.counts).toMatchObject({ selected: 0, called: 0, writtenBack: 0, writeBackFailed: 0 });
    expect(view.errorsByCode).toEqual([{ code: 'BATCH_WRITE_BACK_INVALID', count: 1 }]);
    expect(called()).toBe(0);
  });

  it('retries a describe that fails transiently, then runs and writes back', async () => {
    const accounts = Array.from({ length: 2 }, (_, i) =>
      sandbox.insertRecord('Account', { Name: `Flaky ${i}`, Industry: 'Flaky' }),
    );
    // The run's first two REST requests (its describe of Enrichment__c, and that tried again) are refused.
    sandbox.faults.requestLimitExceeded({ count: 2 });
    const view = await run('enrichment-upsert');
    expect(view.status).toBe('succeeded');
    expect(view.counts).toMatchObject({ selected: 2, succeeded: 2, writtenBack: 2, writeBackFailed: 0 });
    expect(
      sandbox
        .records('Enrichment__c')
        .map((r) => r.Account_Key__c)
        .sort(),
    ).toEqual([...accounts].sort());
    for (const id of accounts) expect(enrichment.invocations.get(id)).toBe(1);
  });
});

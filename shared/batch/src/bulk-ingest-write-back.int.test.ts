import { batchWriteBackSchema, salesforceOrgSchema } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { OrgConnection } from '@mcp-broker/salesforce';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BulkIngestWriteBack } from './bulk-ingest-write-back.ts';
import { CollectionWriteBack } from './collection-write-back.ts';

let sandbox: SalesforceSandbox;
let org: OrgConnection;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({
    objects: {
      Account: {
        fields: {
          Name: { length: 255, required: true },
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
  org = new OrgConnection({
    org: salesforceOrgSchema.parse({
      id: 'acme-org',
      caller: 'acme',
      loginUrl: sandbox.loginUrl,
      apiVersion: sandbox.apiVersion,
      auth: { type: 'client-credentials', clientId: sandbox.clientId, clientSecret: { fromEnv: 'SF_SECRET' } },
    }),
    env: { SF_SECRET: sandbox.clientSecret },
  });
});
afterAll(async () => {
  await org?.close();
  await sandbox?.close();
});

const call = (id: string, structuredContent: Record<string, unknown>): ToolCallRecord =>
  ({
    id: `tc_${id}`,
    caller: 'acme',
    endpoint: 'local',
    tool: 'test_enrich',
    fingerprint: 'f',
    idempotencyKey: `batch/s/r/${id}`,
    arguments: {},
    source: { kind: 'batch', reference: 'r' },
    correlation: { requestId: 'r' },
    status: 'succeeded',
    history: [],
    result: { content: [], structuredContent },
    attempts: 1,
    deliveries: [],
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    completedAt: '2026-12-01T00:00:01.000Z',
  }) as ToolCallRecord;

describe('Bulk API 2.0 ingest write-back', () => {
  it('updates the records with one job and reports each refused row with its code and message', async () => {
    const good = [
      sandbox.insertRecord('Account', { Name: 'Acme, "the" company' }),
      sandbox.insertRecord('Account', { Name: 'Beta' }),
    ];
    const bad = sandbox.insertRecord('Account', { Name: 'Reject me' });
    const config = batchWriteBackSchema.parse({
      type: 'salesforce-record',
      org: 'acme-org',
      sobject: 'Account',
      fields: {
        Score__c: 'structuredContent.score',
        Description: 'structuredContent.action',
        Last_Enriched__c: 'call.completedAt',
      },
    });
    const writer = new BulkIngestWriteBack({
      mapping: new CollectionWriteBack(config),
      sobject: 'Account',
      pollBaseMs: 5,
    });
    const outcome = await writer.write(
      org,
      [...good, bad].map((id, i) => ({ recordId: id, call: call(id, { score: i + 1, action: `Say "hi", ${i}` }) })),
    );
    expect(outcome.written).toBe(2);
    expect(outcome.failures).toEqual([
      {
        recordId: bad,
        code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION',
        message: 'Rejected accounts cannot be scored (fields: Score__c)',
      },
    ]);
    const byId = new Map(sandbox.records('Account').map((r) => [r.Id, r]));
    expect(byId.get(good[0] as string)).toMatchObject({ Score__c: 1, Description: 'Say "hi", 0' });
    expect(byId.get(good[1] as string)).toMatchObject({ Score__c: 2 });
    expect(byId.get(bad)?.Score__c ?? null).toBeNull();
  });
});

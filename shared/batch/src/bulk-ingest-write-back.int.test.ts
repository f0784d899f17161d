import { batchWriteBackSchema } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import type { OrgConnection } from '@mcp-broker/salesforce';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxOrgConnection } from '../test-support/sandbox-org.ts';
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
          Customer_Key__c: { length: 40, externalId: true },
          // Not unique: two records may share a value, which an upsert cannot resolve.
          Legacy_Key__c: { length: 40, externalId: true, unique: false },
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
  org = sandboxOrgConnection(sandbox);
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

/** A write-back config upserting Account by `key`; the value comes from the call's `structuredContent.key`. */
const upsertConfig = (key: string) =>
  batchWriteBackSchema.parse({
    type: 'salesforce-record',
    org: 'acme-org',
    sobject: 'Account',
    externalIdField: key,
    recordId: 'structuredContent.key',
    fields: { Name: 'structuredContent.name', Score__c: 'structuredContent.score' },
  });
const bulkUpsert = (key: string) =>
  new BulkIngestWriteBack({ mapping: new CollectionWriteBack(upsertConfig(key)), sobject: 'Account', pollBaseMs: 5 });
const item = (n: number, content: Record<string, unknown>) => ({ recordId: `src-${n}`, call: call(`u${n}`, content) });
const byField = (field: string) => new Map(sandbox.records('Account').map((r) => [r[field], r]));

describe('Bulk API 2.0 ingest write-back, upsert by external id', () => {
  it('a field that is no external id fails the whole job with Salesforce INVALIDJOB, writing nothing', async () => {
    const before = sandbox.records('Account').length;
    const error = await bulkUpsert('Description')
      .write(org, [item(1, { key: 'k-1', name: 'N' })])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SALESFORCE_INVALIDJOB',
      message:
        'InvalidJob : Field name provided, Description does not match an External ID, Salesforce Id, or indexed field for Account',
    });
    // Permanent: the run counts the slice as failed instead of retrying a job that cannot pass.
    expect(error).toMatchObject({ kind: 'permanent' });
    expect(sandbox.records('Account').length).toBe(before);
  });

  it('a value twice in the slice, and one several records share, fail those records only', async () => {
    const shared = [
      sandbox.insertRecord('Account', { Name: 'Shared 1', Legacy_Key__c: 'legacy-shared' }),
      sandbox.insertRecord('Account', { Name: 'Shared 2', Legacy_Key__c: 'legacy-shared' }),
    ];
    const outcome = await bulkUpsert('Legacy_Key__c').write(org, [
      item(1, { key: 'legacy-twice', name: 'Twice A' }),
      item(2, { key: 'legacy-twice', name: 'Twice B' }),
      item(3, { key: 'legacy-shared', name: 'Ambiguous' }),
      item(4, { key: 'legacy-fresh', name: 'Fresh', score: 4 }),
    ]);
    expect(outcome.written).toBe(1);
    expect(outcome.failures).toEqual([
      {
        recordId: 'src-1',
        code: 'SALESFORCE_DUPLICATE_VALUE',
        message: 'Duplicate external id specified: legacy-twice (fields: Legacy_Key__c)',
      },
      {
        recordId: 'src-2',
        code: 'SALESFORCE_DUPLICATE_VALUE',
        message: 'Duplicate external id specified: legacy-twice (fields: Legacy_Key__c)',
      },
      {
        recordId: 'src-3',
        code: 'SALESFORCE_DUPLICATE_EXTERNAL_ID',
        message: `Legacy_Key__c: more than one record found for external id field: [${shared.join(', ')}] (fields: Legacy_Key__c)`,
      },
    ]);
    expect(byField('Legacy_Key__c').get('legacy-fresh')).toMatchObject({ Name: 'Fresh', Score__c: 4 });
    expect(
      sandbox
        .records('Account')
        .filter((r) => r.Legacy_Key__c === 'legacy-shared')
        .map((r) => r.Name),
    ).toEqual(['Shared 1', 'Shared 2']);
    expect(sandbox.records('Account').some((r) => String(r.Name).startsWith('Twice'))).toBe(false);
  });

  it('a record with no external id value is a mapping failure, never sent; a null field clears it', async () => {
    const existing = sandbox.insertRecord('Account', { Name: 'Keep', Customer_Key__c: 'cust-null', Score__c: 7 });
    const outcome = await bulkUpsert('Customer_Key__c').write(org, [
      item(1, { name: 'No key' }),
      item(2, { key: '', name: 'Empty key' }),
      item(3, { key: 'cust-null', name: 'Keep', score: null }),
    ]);
    expect(outcome.failures).toEqual([
      {
        recordId: 'src-1',
        code: 'SALESFORCE_MAPPING_FAILED',
        message: 'recordId gave nothing, not a value for Customer_Key__c',
      },
      {
        recordId: 'src-2',
        code: 'SALESFORCE_MAPPING_FAILED',
        message: 'recordId gave "", not a value for Customer_Key__c',
      },
    ]);
    expect(outcome.written).toBe(1);
    expect(byField('Customer_Key__c').get('cust-null')).toMatchObject({ Id: existing, Score__c: null });
  });

  it('a record Salesforce refuses does not fail the others of its job', async () => {
    const outcome = await bulkUpsert('Customer_Key__c').write(org, [
      item(1, { key: 'cust-reject', name: 'Reject this', score: 1 }),
      item(2, { key: 'cust-fine', name: 'Fine', score: 2 }),
    ]);
    expect(outcome).toMatchObject({
      written: 1,
      failures: [{ recordId: 'src-1', code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION' }],
    });
    expect(byField('Customer_Key__c').get('cust-fine')).toMatchObject({ Name: 'Fine', Score__c: 2 });
    expect(byField('Customer_Key__c').has('cust-reject')).toBe(false);
  });

  it('creates the records no one matches and updates the one that matches, with one upsert job', async () => {
    const existing = sandbox.insertRecord('Account', { Name: 'Before', Customer_Key__c: 'cust-10' });
    const outcome = await bulkUpsert('Customer_Key__c').write(org, [
      item(1, { key: 'cust-10', name: 'After', score: 10 }),
      item(2, { key: 'cust-11', name: 'New "one", quoted', score: 11 }),
      item(3, { key: 12, name: 'Numeric key', score: 12 }),
    ]);
    expect(outcome).toEqual({ written: 3, failures: [], unchanged: 0 });
    const byKey = byField('Customer_Key__c');
    expect(byKey.get('cust-10')).toMatchObject({ Id: existing, Name: 'After', Score__c: 10 });
    expect(byKey.get('cust-11')).toMatchObject({ Name: 'New "one", quoted', Score__c: 11 });
    expect(byKey.get('12')).toMatchObject({ Name: 'Numeric key' });
    expect(sandbox.records('Account').filter((r) => r.Customer_Key__c === 'cust-10')).toHaveLength(1);
  });

  it('below bulkAbove, a field that is no external id fails the whole chunk (NOT_FOUND), writing nothing', async () => {
    const before = sandbox.records('Account').length;
    const error = await new CollectionWriteBack(upsertConfig('Description'))
      .write(org, [item(1, { key: 'k-1', name: 'N' })])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_NOT_FOUND',
      message: 'Provided external ID field does not exist or is not accessible: Description',
    });
    expect(sandbox.records('Account').length).toBe(before);
  });

  it('below bulkAbove, a key twice in a chunk or shared by two records fails those records only', async () => {
    const shared = [
      sandbox.insertRecord('Account', { Name: 'Coll shared 1', Legacy_Key__c: 'coll-shared' }),
      sandbox.insertRecord('Account', { Name: 'Coll shared 2', Legacy_Key__c: 'coll-shared' }),
    ];
    const writer = new CollectionWriteBack(upsertConfig('Legacy_Key__c'));
    const outcome = await writer.write(org, [
      item(1, { key: 'coll-twice', name: 'Coll twice A' }),
      item(2, { key: 'coll-shared', name: 'Coll ambiguous' }),
      item(3, { key: 'coll-twice', name: 'Coll twice B' }),
      item(4, { key: 'coll-fresh', name: 'Coll fresh' }),
    ]);
    expect(outcome.written).toBe(1);
    expect(outcome.failures.map((f) => [f.recordId, f.code])).toEqual([
      ['src-1', 'SALESFORCE_DUPLICATE_VALUE'],
      ['src-2', 'SALESFORCE_DUPLICATE_EXTERNAL_ID'],
      ['src-3', 'SALESFORCE_DUPLICATE_VALUE'],
    ]);
    expect(outcome.failures[1]?.message).toContain(shared.join(', '));
    expect(byField('Legacy_Key__c').get('coll-fresh')).toMatchObject({ Name: 'Coll fresh' });
    expect(sandbox.records('Account').some((r) => String(r.Name).startsWith('Coll twice'))).toBe(false);
  });

  it('below bulkAbove, the SObject Collections write-back upserts by the same field', async () => {
    const existing = sandbox.insertRecord('Account', { Name: 'Coll before', Customer_Key__c: 'coll-1' });
    const writer = new CollectionWriteBack(upsertConfig('Customer_Key__c'));
    const outcome = await writer.write(org, [
      item(1, { key: 'coll-1', name: 'Coll after', score: 1 }),
      item(2, { key: 'coll-2', name: 'Coll new', score: 2 }),
      item(3, { key: 'coll-3', name: 'Reject coll', score: 3 }),
    ]);
    expect(outcome).toMatchObject({
      written: 2,
      failures: [{ recordId: 'src-3', code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION' }],
    });
    const byKey = byField('Customer_Key__c');
    expect(byKey.get('coll-1')).toMatchObject({ Id: existing, Name: 'Coll after' });
    expect(byKey.get('coll-2')).toMatchObject({ Name: 'Coll new', Score__c: 2 });
  });
});

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

import { type BatchWriteBackConfig, batchWriteBackSchema } from '@mcp-broker/broker-config';
import type { OrgConnection } from '@mcp-broker/salesforce';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandboxOrgConnection } from '../test-support/sandbox-org.ts';
import { WriteBackCheck } from './write-back-check.ts';

let sandbox: SalesforceSandbox;
let org: OrgConnection;
let now = 0;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({
    objects: {
      Account: {
        fields: {
          Name: { length: 255, required: true },
          Industry: { type: 'picklist', length: 255 },
          Score__c: { type: 'int' },
          Customer_Key__c: { length: 40, externalId: true },
        },
      },
    },
  });
  org = sandboxOrgConnection(sandbox);
});
afterAll(async () => {
  await org?.close();
  await sandbox?.close();
});
afterEach(() => sandbox.faults.clear());

const writeBack = (over: Partial<BatchWriteBackConfig> = {}): BatchWriteBackConfig =>
  batchWriteBackSchema.parse({
    type: 'salesforce-record',
    org: 'acme-org',
    sobject: 'Account',
    fields: { Score__c: 'structuredContent.score' },
    ...over,
  });

const check = (cacheMs?: number) =>
  new WriteBackCheck({ org: () => org, now: () => now, ...(cacheMs === undefined ? {} : { cacheMs }) });

describe('write-back check against the org describe', () => {
  it('refuses an external id field the sObject does not have, naming the schedule, the sObject and the field', async () => {
    const refusal = await check().check('stale-accounts', writeBack({ externalIdField: 'Customer_Kee__c' }));
    expect(refusal).toEqual({
      code: 'BATCH_WRITE_BACK_INVALID',
      message:
        'Schedule "stale-accounts": the write-back to Account in org "acme-org" cannot be done: writeBack.externalIdField: Account has no field "Customer_Kee__c".',
    });
  });

  it('refuses a field that exists but is no External ID', async () => {
    const refusal = await check().check('stale-accounts', writeBack({ externalIdField: 'industry' }));
    expect(refusal?.code).toBe('BATCH_WRITE_BACK_INVALID');
    expect(refusal?.message).toContain(
      'writeBack.externalIdField: Account.Industry is no External ID (or idLookup) field, so an upsert cannot match on it',
    );
  });

  it('refuses an sObject the org does not have, with the describe answer', async () => {
    const refusal = await check().check('stale-accounts', writeBack({ sobject: 'Acount' }));
    expect(refusal).toEqual({
      code: 'BATCH_WRITE_BACK_INVALID',
      message:
        'Schedule "stale-accounts": the write-back to Acount in org "acme-org" cannot be done: writeBack.sobject: the org has no sObject "Acount" (describe: The requested resource does not exist).',
    });
  });

  it('refuses mapped fields the sObject lacks or that cannot be written, all in one message', async () => {
    const refusal = await check().check(
      'stale-accounts',
      writeBack({ fields: { Score__c: 'score', Scroe__c: 'score', CreatedDate: 'call.completedAt' } }),
    );
    expect(refusal?.message).toBe(
      'Schedule "stale-accounts": the write-back to Account in org "acme-org" cannot be done: writeBack.fields.Scroe__c: Account has no field "Scroe__c"; writeBack.fields.CreatedDate: Account.CreatedDate is not updateable.',
    );
    // An upsert may create the record: the field must be createable too.
    const upsert = await check().check(
      'stale-accounts',
      writeBack({ externalIdField: 'Customer_Key__c', fields: { SystemModstamp: 'call.completedAt' } }),
    );
    expect(upsert?.message).toContain('Account.SystemModstamp is not createable and updateable');
  });

  it('throws a transient describe failure, keeps nothing of it, and passes once the describe answers', async () => {
    const checker = check();
    sandbox.faults.requestLimitExceeded();
    await expect(checker.check('stale-accounts', writeBack())).rejects.toMatchObject({
      kind: 'transient',
      code: 'SALESFORCE_REQUEST_LIMIT_EXCEEDED',
    });
    await expect(checker.check('stale-accounts', writeBack())).resolves.toBeUndefined();
  });

  it('passes a write-back the org can take, by Id or by external id, names matched case-insensitively', async () => {
    const checker = check();
    await expect(checker.check('s', writeBack({ fields: { score__c: 'x', NAME: 'y' } }))).resolves.toBeUndefined();
    await expect(checker.check('s', writeBack({ externalIdField: 'customer_key__c' }))).resolves.toBeUndefined();
  });

  it('keeps a describe per (org, sObject) for cacheMs, then describes again', async () => {
    now = 1_000;
    const checker = check(60_000);
    await expect(checker.check('s', writeBack())).resolves.toBeUndefined();
    // A fault on the next REST request is not met while the describe is cached …
    sandbox.faults.requestLimitExceeded();
    now += 59_000;
    await expect(checker.check('s', writeBack({ sobject: 'account' }))).resolves.toBeUndefined();
    // … and is once it has expired.
    now += 2_000;
    await expect(checker.check('s', writeBack())).rejects.toMatchObject({ code: 'SALESFORCE_REQUEST_LIMIT_EXCEEDED' });
  });
});

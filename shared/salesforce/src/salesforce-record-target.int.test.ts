import type { SalesforceRecordTarget } from '@mcp-broker/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  deliveryContext,
  failure,
  ORG,
  resultUrlFor,
  type SandboxOrg,
  startSandboxOrg,
  toolCallRecord,
  withObjects,
} from '../test-support/salesforce.ts';
import { FieldLimits, truncationPointer } from './field-limits.ts';
import { SalesforceRecordHandler } from './salesforce-record-target.ts';

const record = toolCallRecord();

describe('SalesforceRecordHandler (salesforce-record) against the sandbox org', () => {
  let org: SandboxOrg;
  let handler: SalesforceRecordHandler;
  let opportunityId: string;

  const target = (fields: Record<string, string>, overrides: Partial<SalesforceRecordTarget> = {}) =>
    ({
      type: 'salesforce-record',
      org: ORG,
      sobject: 'Opportunity',
      recordId: opportunityId,
      fields,
      ...overrides,
    }) as SalesforceRecordTarget;
  const opportunity = () => org.sandbox.records('Opportunity').find((r) => r.Id === opportunityId);
  /** A first delivery logs in and caches the describe, so the next request is the write itself. */
  const warmUp = () => handler.deliver(target({ Description: "'warm'" }), deliveryContext(record));

  beforeAll(async () => {
    org = await startSandboxOrg({
      objects: withObjects({
        Opportunity: {
          validationRules: [
            {
              errorMessage: 'Amount cannot be negative.',
              errorField: 'Amount',
              failsWhen: (r) => typeof r.Amount === 'number' && r.Amount < 0,
            },
          ],
        },
      }),
    });
    handler = new SalesforceRecordHandler({ orgs: org.orgs, resultUrlFor, logger: org.logs });
  });
  afterAll(() => org.close());
  afterEach(() => org.sandbox.faults.clear());

  beforeAll(() => {
    opportunityId = org.sandbox.insertRecord('Opportunity', {
      Name: 'Big Deal',
      StageName: 'Prospecting',
      CloseDate: '2026-12-31',
    });
  });

  it('updates the record’s mapped fields and reports what it wrote', async () => {
    const receipt = await handler.deliver(
      target({
        Contract_URL__c: 'structuredContent.url',
        StageName: "'Proposal'",
        Amount: 'structuredContent.pages * 1000',
      }),
      deliveryContext(record),
    );
    expect(receipt).toEqual({
      org: ORG,
      sobject: 'Opportunity',
      id: opportunityId,
      fields: ['Contract_URL__c', 'StageName', 'Amount'],
    });
    expect(opportunity()).toMatchObject({
      Contract_URL__c: 'https://docs.example.com/contracts/C-1001.pdf',
      StageName: 'Proposal',
      Amount: 3000,
      Name: 'Big Deal',
    });
  });

  it('is idempotent: delivering twice leaves the same values', async () => {
    const mapping = target({ Description: "'Contract ' & structuredContent.url" });
    await handler.deliver(mapping, deliveryContext(record));
    const once = { ...opportunity() };
    await handler.deliver(mapping, deliveryContext(record));
    expect(opportunity()).toMatchObject({ Description: once.Description });
  });

  it('still evaluates the mapping for a failed call, so the record can show the error', async () => {
    await handler.deliver(
      target({ Contract_URL__c: "'https://docs.example.com/before.pdf'" }),
      deliveryContext(record),
    );
    const failedCall = toolCallRecord({
      status: 'failed',
      result: undefined,
      error: { code: 'TOOL_ERROR', message: 'Opportunity has no products.' },
    });
    const receipt = await handler.deliver(
      target({
        Contract_URL__c: "status = 'succeeded' ? structuredContent.url",
        Description: "error ? 'Contract failed: ' & error.code & ': ' & error.message : null",
      }),
      deliveryContext(failedCall),
    );
    expect(receipt.fields).toEqual(['Description']);
    expect(opportunity()).toMatchObject({
      Contract_URL__c: 'https://docs.example.com/before.pdf',
      Description: 'Contract failed: TOOL_ERROR: Opportunity has no products.',
    });
  });

  it('clears a field whose expression gives null, and sends nothing when no expression gives a value', async () => {
    await handler.deliver(target({ Description: 'null' }), deliveryContext(record));
    expect(opportunity()?.Description).toBeNull();
    const before = opportunity()?.LastModifiedDate;
    const receipt = await handler.deliver(target({ Description: 'structuredContent.absent' }), deliveryContext(record));
    expect(receipt).toEqual({ org: ORG, sobject: 'Opportunity', id: opportunityId, fields: [] });
    expect(opportunity()?.LastModifiedDate).toBe(before);
  });

  it('truncates a result longer than Contract_URL__c to exactly 255 characters with a pointer to the full result', async () => {
    const long = toolCallRecord({
      result: { structuredContent: { url: `https://docs.example.com/${'x'.repeat(400)}` } },
    });
    const receipt = await handler.deliver(target({ Contract_URL__c: 'structuredContent.url' }), deliveryContext(long));
    expect(receipt.truncated).toEqual(['Contract_URL__c']);
    const pointer = truncationPointer(resultUrlFor(long));
    const written = opportunity()?.Contract_URL__c as string;
    expect(written).toHaveLength(255);
    expect(written).toBe(`https://docs.example.com/${'x'.repeat(255 - pointer.length - 25)}${pointer}`);
    expect(written.endsWith(`… [truncated; full result: https://broker.example.com/v1/tool-calls/${long.id}]`)).toBe(
      true,
    );
  });

  it('re-logs in once when the org has expired the session, and the write goes through', async () => {
    await warmUp();
    const logins = org.logs.logins(ORG);
    org.sandbox.faults.expireSessions();
    await handler.deliver(target({ Description: "'after expiry'" }), deliveryContext(record));
    expect(opportunity()?.Description).toBe('after expiry');
    expect(org.logs.logins(ORG)).toBe(logins + 1);
  });

  it.each([
    ['request limit', 'SALESFORCE_REQUEST_LIMIT_EXCEEDED', (o: SandboxOrg) => o.sandbox.faults.requestLimitExceeded()],
    ['row lock', 'SALESFORCE_UNABLE_TO_LOCK_ROW', (o: SandboxOrg) => o.sandbox.faults.lockRows()],
    ['server error', 'SALESFORCE_UNKNOWN_EXCEPTION', (o: SandboxOrg) => o.sandbox.faults.serverError()],
  ])('reports a %s as transient (%s), and the retry succeeds', async (_what, code, inject) => {
    await warmUp();
    inject(org);
    const mapping = target({ Description: "'retried'" });
    expect(await failure(handler.deliver(mapping, deliveryContext(record)))).toMatchObject({
      name: 'DeliveryError',
      kind: 'transient',
      code,
    });
    await handler.deliver(mapping, deliveryContext(record));
    expect(opportunity()?.Description).toBe('retried');
  });

  it('reports an unknown field as permanent INVALID_FIELD with Salesforce’s message', async () => {
    expect(await failure(handler.deliver(target({ Bogus__c: "'x'" }), deliveryContext(record)))).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_INVALID_FIELD',
      message: "No such column 'Bogus__c' on sobject of type Opportunity",
    });
  });

  it('reports a validation rule as permanent FIELD_CUSTOM_VALIDATION_EXCEPTION with the rule’s message', async () => {
    expect(await failure(handler.deliver(target({ Amount: '-1' }), deliveryContext(record)))).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION',
      message: 'Amount cannot be negative.',
    });
  });

  it('does not cut a picklist value: a too-long one is permanent STRING_TOO_LONG', async () => {
    const error = await failure(handler.deliver(target({ StageName: "$pad('', 300, 's')" }), deliveryContext(record)));
    expect(error).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_STRING_TOO_LONG',
      message: expect.stringMatching(/^Stage: data value too large: s+/),
    });
  });

  it('reports a record that does not exist as permanent NOT_FOUND', async () => {
    const missing = target({ Description: "'x'" }, { recordId: '006000000000000AAA' });
    expect(await failure(handler.deliver(missing, deliveryContext(record)))).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_NOT_FOUND',
      message: 'The requested resource does not exist',
    });
  });

  it('refuses an org that belongs to another caller, before touching Salesforce', async () => {
    const logins = org.logs.logins('globex-prod');
    const error = await failure(
      handler.deliver(target({ Description: "'x'" }, { org: 'globex-prod' }), deliveryContext(record)),
    );
    expect(error).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_ORG_NOT_ALLOWED',
      message:
        'The salesforce-record target names Salesforce org "globex-prod", which is not a connected org of caller "acme-sales".',
    });
    expect(org.logs.logins('globex-prod')).toBe(logins);
    expect(
      await failure(handler.deliver(target({ Description: "'x'" }, { org: 'unknown' }), deliveryContext(record))),
    ).toMatchObject({ code: 'SALESFORCE_ORG_NOT_ALLOWED' });
  });

  it('refuses a JSONata expression that does not compile, naming the field', async () => {
    expect(
      await failure(handler.deliver(target({ Contract_URL__c: 'structuredContent.(' }), deliveryContext(record))),
    ).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_MAPPING_FAILED',
      message: expect.stringContaining('Mapping for field Contract_URL__c failed'),
    });
  });

  it('refuses a mapping of Id (the record is the target’s recordId)', async () => {
    expect(
      await failure(handler.deliver(target({ Id: "'006000000000000AAA'" }), deliveryContext(record))),
    ).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_MAPPING_FAILED',
    });
  });

  it('gives up as transient when the delivery’s time budget has already run out', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      await failure(handler.deliver(target({ Description: "'late'" }), deliveryContext(record, controller.signal))),
    ).toMatchObject({ kind: 'transient', code: 'SALESFORCE_TIMEOUT', unconfirmed: false });
  });

  it('accepts a lookup function for the orgs and a shared describe cache', async () => {
    const viaFunction = new SalesforceRecordHandler({
      orgs: (id) => org.orgs.find(id),
      fieldLimits: new FieldLimits(),
    });
    const receipt = await viaFunction.deliver(target({ Description: "'via a lookup'" }), deliveryContext(record));
    expect(receipt.fields).toEqual(['Description']);
    expect(opportunity()?.Description).toBe('via a lookup');
  });
});

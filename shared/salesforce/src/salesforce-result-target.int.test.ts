import type { SalesforceResultTarget } from '@mcp-broker/contracts';
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
import { SObjectFieldLimits, truncationPointer } from './field-limits.ts';
import { resultValues, SalesforceResultHandler } from './salesforce-result-target.ts';

const record = toolCallRecord();

describe('SalesforceResultHandler (salesforce-result) against the sandbox org', () => {
  let org: SandboxOrg;
  let handler: SalesforceResultHandler;

  const target = (overrides: Partial<SalesforceResultTarget> = {}) =>
    ({ type: 'salesforce-result', org: ORG, ...overrides }) as SalesforceResultTarget;
  const results = (requestId: string) =>
    org.sandbox.records('MCP_Result__c').filter((r) => r.Request_Id__c === requestId);
  const warmUp = () => handler.deliver(target({ requestId: 'warm-up' }), deliveryContext(record));

  beforeAll(async () => {
    org = await startSandboxOrg({
      objects: withObjects({
        MCP_Result__c: {
          validationRules: [
            { errorMessage: 'This tool may not report here.', failsWhen: (r) => r.Tool__c === 'forbidden_tool' },
          ],
        },
      }),
    });
    handler = new SalesforceResultHandler({ orgs: org.orgs, resultUrlFor, logger: org.logs });
  });
  afterAll(() => org.close());
  afterEach(() => org.sandbox.faults.clear());

  it('upserts MCP_Result__c by Request_Id__c (the idempotency key) with the outcome', async () => {
    const receipt = await handler.deliver(target({ relatedRecordId: '0065g00000ABCDEAAA' }), deliveryContext(record));
    expect(receipt).toEqual({
      org: ORG,
      sobject: 'MCP_Result__c',
      id: expect.stringMatching(/^a01/),
      created: true,
      requestId: record.idempotencyKey,
    });
    expect(results(record.idempotencyKey)).toEqual([
      expect.objectContaining({
        Id: receipt.id,
        Name: 'generate_contract 3f9a1c2e',
        Status__c: 'succeeded',
        Tool__c: 'generate_contract',
        Result__c: '{"url":"https://docs.example.com/contracts/C-1001.pdf","pages":3}',
        Error__c: null,
        Completed_At__c: '2026-11-26T10:00:00.000+0000',
        Related_Record_Id__c: '0065g00000ABCDEAAA',
      }),
    ]);
  });

  it('delivering twice leaves one MCP_Result__c, updated the second time', async () => {
    const first = await handler.deliver(target({ requestId: 'req-twice' }), deliveryContext(record));
    const second = await handler.deliver(target({ requestId: 'req-twice' }), deliveryContext(record));
    expect(first).toMatchObject({ created: true });
    expect(second).toMatchObject({ created: false, id: first.id });
    expect(results('req-twice')).toHaveLength(1);
  });

  it('records a failure as Error__c "code: message", with the text result when there is no structured one', async () => {
    const failed = toolCallRecord({
      status: 'failed',
      result: { content: [{ type: 'text', text: 'No products on the opportunity.' }], isError: true },
      error: { code: 'TOOL_ERROR', message: 'No products on the opportunity.' },
    });
    await handler.deliver(target({ requestId: 'req-failed' }), deliveryContext(failed));
    expect(results('req-failed')[0]).toMatchObject({
      Status__c: 'failed',
      Result__c: 'No products on the opportunity.',
      Error__c: 'TOOL_ERROR: No products on the opportunity.',
    });
  });

  it('keeps a Related_Record_Id__c set by Salesforce when the target names no record', async () => {
    org.sandbox.insertRecord('MCP_Result__c', {
      Request_Id__c: 'req-flow',
      Related_Record_Id__c: '0065g00000FLOWAAAA',
    });
    await handler.deliver(target({ requestId: 'req-flow' }), deliveryContext(record));
    expect(results('req-flow')).toEqual([
      expect.objectContaining({ Related_Record_Id__c: '0065g00000FLOWAAAA', Status__c: 'succeeded' }),
    ]);
  });

  it('truncates an error longer than Error__c to exactly 32,768 characters with a pointer, and lists it', async () => {
    const failed = toolCallRecord({
      status: 'failed',
      result: undefined,
      error: { code: 'TOOL_ERROR', message: 'e'.repeat(40_000) },
    });
    const receipt = await handler.deliver(target({ requestId: 'req-long-error' }), deliveryContext(failed));
    expect(receipt.truncated).toEqual(['Error__c']);
    const written = results('req-long-error')[0]?.Error__c as string;
    expect(written).toHaveLength(32_768);
    expect(written.startsWith('TOOL_ERROR: eee')).toBe(true);
    expect(written.endsWith(truncationPointer(resultUrlFor(failed)))).toBe(true);
  });

  it('points at the broker’s tool-call path when no result URL is configured', async () => {
    const plain = new SalesforceResultHandler({ orgs: org.orgs });
    const big = toolCallRecord({ result: { structuredContent: { blob: 'b'.repeat(140_000) } } });
    const receipt = await plain.deliver(target({ requestId: 'req-big' }), deliveryContext(big));
    expect(receipt.truncated).toEqual(['Result__c']);
    const written = results('req-big')[0]?.Result__c as string;
    expect(written).toHaveLength(131_072);
    expect(written.endsWith(`… [truncated; full result: GET /v1/tool-calls/${big.id}]`)).toBe(true);
  });

  it.each([
    ['request limit', 'SALESFORCE_REQUEST_LIMIT_EXCEEDED', (o: SandboxOrg) => o.sandbox.faults.requestLimitExceeded()],
    [
      'row lock (a failed collection item, statusCode)',
      'SALESFORCE_UNABLE_TO_LOCK_ROW',
      (o: SandboxOrg) => o.sandbox.faults.lockRows({ sobject: 'MCP_Result__c' }),
    ],
    ['server error', 'SALESFORCE_UNKNOWN_EXCEPTION', (o: SandboxOrg) => o.sandbox.faults.serverError()],
  ])('reports a %s as transient (%s)', async (_what, code, inject) => {
    await warmUp();
    inject(org);
    expect(await failure(handler.deliver(target({ requestId: 'warm-up' }), deliveryContext(record)))).toMatchObject({
      kind: 'transient',
      code,
    });
  });

  it('reports a validation rule on the upserted record as permanent, with Salesforce’s code and message', async () => {
    const forbidden = toolCallRecord({ tool: 'forbidden_tool' });
    expect(
      await failure(handler.deliver(target({ requestId: 'req-forbidden' }), deliveryContext(forbidden))),
    ).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION',
      message: 'This tool may not report here.',
    });
    expect(results('req-forbidden')).toEqual([]);
  });

  it('refuses an org that belongs to another caller', async () => {
    expect(await failure(handler.deliver(target({ org: 'globex-prod' }), deliveryContext(record)))).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_ORG_NOT_ALLOWED',
    });
  });
});

describe('resultValues', () => {
  const field = (name: string, writable: boolean) => ({
    name,
    type: 'string',
    length: 80,
    truncatable: true,
    writable,
  });
  const target = { type: 'salesforce-result', org: ORG } as SalesforceResultTarget;

  it('leaves Name out where the org makes it an auto-number (not writable)', () => {
    const autoNumber = new SObjectFieldLimits('MCP_Result__c', [field('Name', false)]);
    expect(resultValues(record, target, autoNumber)).toEqual({
      Request_Id__c: record.idempotencyKey,
      Status__c: 'succeeded',
      Tool__c: 'generate_contract',
      Result__c: '{"url":"https://docs.example.com/contracts/C-1001.pdf","pages":3}',
      Error__c: null,
      Completed_At__c: record.completedAt,
    });
    const text = new SObjectFieldLimits('MCP_Result__c', [field('Name', true)]);
    expect(resultValues(record, target, text).Name).toBe('generate_contract 3f9a1c2e');
  });

  it('keeps Name within 80 characters for a long tool name', () => {
    const text = new SObjectFieldLimits('MCP_Result__c', [field('Name', true)]);
    const name = resultValues(toolCallRecord({ tool: 't'.repeat(128) }), target, text).Name as string;
    expect(name).toHaveLength(80);
    expect(name.endsWith(' 3f9a1c2e')).toBe(true);
  });
});

import type { SalesforceEventTarget } from '@mcp-broker/contracts';
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
import { truncationPointer } from './field-limits.ts';
import { SalesforceEventHandler } from './salesforce-event-target.ts';

const CHANNEL = '/event/MCP_Tool_Result__e';
const record = toolCallRecord();

describe('SalesforceEventHandler (salesforce-event) against the sandbox org', () => {
  let org: SandboxOrg;
  let handler: SalesforceEventHandler;

  const target = (overrides: Partial<SalesforceEventTarget> = {}) =>
    ({ type: 'salesforce-event', org: ORG, ...overrides }) as SalesforceEventTarget;
  const published = (requestId: string) =>
    org.sandbox.retainedEvents(CHANNEL).filter((e) => e.data.payload.Request_Id__c === requestId);
  const warmUp = () => handler.deliver(target({ requestId: 'warm-up' }), deliveryContext(record));

  beforeAll(async () => {
    org = await startSandboxOrg({
      objects: withObjects({
        MCP_Tool_Result__e: {
          validationRules: [
            { errorMessage: 'Unknown tools may not publish.', failsWhen: (r) => r.Tool__c === 'forbidden_tool' },
          ],
        },
      }),
    });
    handler = new SalesforceEventHandler({ orgs: org.orgs, resultUrlFor, logger: org.logs });
  });
  afterAll(() => org.close());
  afterEach(() => org.sandbox.faults.clear());

  it('publishes MCP_Tool_Result__e with the outcome, and reports its EventUuid', async () => {
    const receipt = await handler.deliver(target({ relatedRecordId: '0065g00000ABCDEAAA' }), deliveryContext(record));
    const events = published(record.idempotencyKey);
    expect(events).toHaveLength(1);
    expect(events[0]?.data.payload).toMatchObject({
      Request_Id__c: record.idempotencyKey,
      Status__c: 'succeeded',
      Tool__c: 'generate_contract',
      Result__c: '{"url":"https://docs.example.com/contracts/C-1001.pdf","pages":3}',
      Error__c: null,
      Record_Id__c: '0065g00000ABCDEAAA',
    });
    expect(receipt).toEqual({
      org: ORG,
      sobject: 'MCP_Tool_Result__e',
      id: expect.stringMatching(/^e0/),
      requestId: record.idempotencyKey,
      eventUuid: events[0]?.data.event.EventUuid,
    });
  });

  it('carries the request id the target names, and a failure as Error__c', async () => {
    const failed = toolCallRecord({
      status: 'failed',
      result: undefined,
      error: { code: 'BROKER_TOOL_TIMEOUT', message: 'The tool did not answer within 30 s.' },
    });
    await handler.deliver(target({ requestId: 'flow-req-7' }), deliveryContext(failed));
    expect(published('flow-req-7')[0]?.data.payload).toMatchObject({
      Status__c: 'failed',
      Result__c: null,
      Error__c: 'BROKER_TOOL_TIMEOUT: The tool did not answer within 30 s.',
    });
  });

  it('truncates a result longer than Result__c to exactly its length, with a pointer, and lists it', async () => {
    const big = toolCallRecord({ result: { content: [{ type: 'text', text: 't'.repeat(200_000) }] } });
    const receipt = await handler.deliver(target({ requestId: 'req-big-event' }), deliveryContext(big));
    expect(receipt.truncated).toEqual(['Result__c']);
    const written = published('req-big-event')[0]?.data.payload.Result__c as string;
    expect(written).toHaveLength(131_072);
    expect(written.endsWith(truncationPointer(resultUrlFor(big)))).toBe(true);
  });

  it('re-logs in once after the org expires sessions, publishing exactly one event', async () => {
    await warmUp();
    const logins = org.logs.logins(ORG);
    org.sandbox.faults.expireSessions();
    await handler.deliver(target({ requestId: 'req-after-expiry' }), deliveryContext(record));
    expect(published('req-after-expiry')).toHaveLength(1);
    expect(org.logs.logins(ORG)).toBe(logins + 1);
  });

  it.each([
    ['request limit', 'SALESFORCE_REQUEST_LIMIT_EXCEEDED', (o: SandboxOrg) => o.sandbox.faults.requestLimitExceeded()],
    ['server error', 'SALESFORCE_UNKNOWN_EXCEPTION', (o: SandboxOrg) => o.sandbox.faults.serverError()],
  ])('reports a %s as transient (%s) without publishing', async (_what, code, inject) => {
    await warmUp();
    inject(org);
    const requestId = `req-${code}`;
    expect(await failure(handler.deliver(target({ requestId }), deliveryContext(record)))).toMatchObject({
      kind: 'transient',
      code,
    });
    expect(published(requestId)).toEqual([]);
  });

  it('reports a refused event as permanent, with Salesforce’s code and message', async () => {
    const forbidden = toolCallRecord({ tool: 'forbidden_tool' });
    expect(
      await failure(handler.deliver(target({ requestId: 'req-refused' }), deliveryContext(forbidden))),
    ).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION',
      message: 'Unknown tools may not publish.',
    });
    expect(published('req-refused')).toEqual([]);
  });

  it('refuses an org that belongs to another caller', async () => {
    expect(await failure(handler.deliver(target({ org: 'globex-prod' }), deliveryContext(record)))).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_ORG_NOT_ALLOWED',
    });
  });
});

import { readFileSync } from 'node:fs';
import { salesforceChannelSchema } from '@mcp-broker/broker-config';
import { describe, expect, it } from 'vitest';
import { EventMapper, EventMappingConfigError, mapPlatformEvent } from './event-mapping.ts';
import { EventRejected, eventRejectionCodes } from './event-rejected.ts';

const CHANNEL = '/event/MCP_Tool_Request__e';
const OPPORTUNITY = '0065g00000AbCdEAAZ';
const defaultChannel = salesforceChannelSchema.parse({ channel: CHANNEL });

function message(fields: Record<string, unknown>, replayId = 7, eventUuid: string | null = 'uuid-7') {
  return {
    schema: 'schema-id',
    payload: {
      CreatedDate: '2026-03-01T00:00:00.000Z',
      CreatedById: '0055g00000AbCdEAAZ',
      Tool__c: null,
      Arguments__c: null,
      Record_Id__c: null,
      Request_Id__c: null,
      Write_Back__c: null,
      ...fields,
    },
    event: { ...(eventUuid === null ? {} : { EventUuid: eventUuid }), replayId },
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<EventRejected> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof EventRejected)) throw new Error(`expected EventRejected, got ${String(error)}`);
  return error;
}

describe('default event contract', () => {
  const mapper = new EventMapper({ org: 'acme', channelConfig: defaultChannel });

  it('maps Tool__c, Arguments__c, Write_Back__c and Request_Id__c, filling write-back defaults', async () => {
    const mapped = await mapper.map(
      message({
        Tool__c: 'generate_contract',
        Arguments__c: JSON.stringify({ opportunityId: OPPORTUNITY, template: 'standard' }),
        Record_Id__c: OPPORTUNITY,
        Request_Id__c: 'req-42',
        Write_Back__c: JSON.stringify([
          { type: 'salesforce-record', sobject: 'Opportunity', fields: { Contract_URL__c: 'structuredContent.url' } },
          { type: 'salesforce-result' },
          { type: 'salesforce-event', requestId: 'flow-9' },
          { type: 'http-callback', url: 'https://hooks.example.com/done' },
        ]),
      }),
    );
    expect(mapped).toEqual({
      tool: 'generate_contract',
      arguments: { opportunityId: OPPORTUNITY, template: 'standard' },
      idempotencyKey: 'req-42',
      source: { kind: 'salesforce', reference: `acme/${CHANNEL}/7` },
      correlation: { requestId: 'sf:acme:MCP_Tool_Request__e:7' },
      writeBack: [
        {
          type: 'salesforce-record',
          org: 'acme',
          sobject: 'Opportunity',
          recordId: OPPORTUNITY,
          fields: { Contract_URL__c: 'structuredContent.url' },
        },
        { type: 'salesforce-result', org: 'acme', requestId: 'req-42', relatedRecordId: OPPORTUNITY },
        { type: 'salesforce-event', org: 'acme', requestId: 'flow-9', relatedRecordId: OPPORTUNITY },
        { type: 'http-callback', url: 'https://hooks.example.com/done' },
      ],
    });
  });

  it('treats empty or missing Arguments__c and Write_Back__c as {} and []', async () => {
    for (const empty of [null, '', '   ']) {
      const mapped = await mapper.map(
        message({ Tool__c: 'next_best_action', Arguments__c: empty, Write_Back__c: empty }),
      );
      expect(mapped).toMatchObject({ arguments: {}, writeBack: [] });
    }
    // No Record_Id__c: the event names no record, so its Salesforce targets are given none.
    const noRecord = await mapper.map(
      message({ Tool__c: 'next_best_action', Write_Back__c: '[{"type":"salesforce-result"}]' }),
    );
    expect(noRecord.writeBack).toEqual([{ type: 'salesforce-result', org: 'acme', requestId: 'uuid-7' }]);
  });

  it('takes the idempotency key from Request_Id__c, else EventUuid, else org:channel:replayId', async () => {
    expect((await mapper.map(message({ Tool__c: 't', Request_Id__c: 'r-1' }))).idempotencyKey).toBe('r-1');
    expect((await mapper.map(message({ Tool__c: 't' }))).idempotencyKey).toBe('uuid-7');
    expect((await mapper.map(message({ Tool__c: 't' }, 9, null))).idempotencyKey).toBe(`acme:${CHANNEL}:9`);
    const long = await rejectionOf(mapper.map(message({ Tool__c: 't', Request_Id__c: 'x'.repeat(256) })));
    expect(long.code).toBe('EVENT_BAD_IDEMPOTENCY_KEY');
  });

  it('rejects Arguments__c that is not JSON, naming the field, and arguments that are not an object', async () => {
    const badJson = await rejectionOf(mapper.map(message({ Tool__c: 't', Arguments__c: '{"a":' })));
    expect(badJson.code).toBe('EVENT_BAD_JSON');
    expect(badJson.reason).toMatch(/^Arguments__c is not valid JSON/);
    expect(badJson.partial).toMatchObject({ tool: 't', idempotencyKey: 'uuid-7', writeBack: [] });

    const array = await rejectionOf(mapper.map(message({ Tool__c: 't', Arguments__c: '[1,2]' })));
    expect(array).toMatchObject({
      code: 'EVENT_BAD_ARGUMENTS',
      reason: 'Arguments__c must hold a JSON object, not an array',
    });
  });

  it('rejects an event without a tool, keeping its write-back targets for the failed result', async () => {
    for (const tool of [null, '', '  ']) {
      const rejected = await rejectionOf(
        mapper.map(
          message({ Tool__c: tool, Record_Id__c: OPPORTUNITY, Write_Back__c: '[{"type":"salesforce-result"}]' }),
        ),
      );
      expect(rejected.code).toBe('EVENT_TOOL_MISSING');
      expect(rejected.reason).toMatch(/Tool__c/);
      expect(rejected.partial.writeBack).toEqual([
        { type: 'salesforce-result', org: 'acme', requestId: 'uuid-7', relatedRecordId: OPPORTUNITY },
      ]);
    }
    const tooLong = await rejectionOf(mapper.map(message({ Tool__c: 'x'.repeat(129) })));
    expect(tooLong.code).toBe('EVENT_BAD_TOOL');
  });

  it('rejects bad Write_Back__c naming the index and field', async () => {
    const cases: [unknown, string, RegExp][] = [
      ['[{', 'EVENT_BAD_JSON', /^Write_Back__c is not valid JSON/],
      ['{"type":"salesforce-result"}', 'EVENT_BAD_WRITE_BACK', /^Write_Back__c must hold a JSON array of targets/],
      ['[{"type":"salesforce-result"}, 3]', 'EVENT_BAD_WRITE_BACK', /^Write_Back__c\[1\] must be an object/],
      [
        '[{"type":"salesforce-result"},{"type":"salesforce-record","sobject":"Opportunity","recordId":"nope","fields":{"A__c":"x"}}]',
        'EVENT_BAD_WRITE_BACK',
        /^Write_Back__c\[1\]\.recordId: a 15- or 18-character Salesforce id$/,
      ],
      ['[{"type":"ftp"}]', 'EVENT_BAD_WRITE_BACK', /^Write_Back__c\[0\]\.type: /],
      [
        '[{"type":"salesforce-record","sobject":"Opportunity","fields":{"A__c":"x"}}]',
        'EVENT_BAD_WRITE_BACK',
        /\[0\]\.recordId/,
      ],
      [JSON.stringify(Array(11).fill({ type: 'salesforce-result' })), 'EVENT_BAD_WRITE_BACK', /11 targets; at most 10/],
    ];
    for (const [writeBack, code, reason] of cases) {
      const rejected = await rejectionOf(mapper.map(message({ Tool__c: 't', Write_Back__c: writeBack })));
      expect({ code: rejected.code, reason: rejected.reason }).toEqual({ code, reason: expect.stringMatching(reason) });
      expect(rejected.partial).not.toHaveProperty('writeBack');
    }
  });

  it('rejects a message that is not a platform event', async () => {
    for (const bad of [null, 'text', { payload: {} }, { payload: null, event: { replayId: 1 } }]) {
      expect((await rejectionOf(mapper.map(bad))).code).toBe('EVENT_MALFORMED');
    }
  });
});

describe('configured JSONata mapping', () => {
  const channelConfig = salesforceChannelSchema.parse({
    channel: '/event/Case_Escalation__e',
    mapping: {
      tool: "payload.Priority__c = 'High' ? 'escalate_case' : 'triage_case'",
      arguments: "{ 'caseId': payload.Case_Id__c, 'summary': $uppercase(payload.Summary__c), 'org': org }",
      idempotencyKey: "'case:' & payload.Case_Id__c & ':' & event.replayId",
      writeBack:
        "{ 'type': 'salesforce-record', 'sobject': 'Case', 'recordId': payload.Case_Id__c, 'fields': { 'Status': 'status' } }",
    },
  });
  const caseId = '5005g00000AbCdEAAZ';

  it('replaces tool, arguments, idempotency key and write-back, evaluated over { payload, event, channel, org }', async () => {
    const mapped = await mapPlatformEvent(
      { payload: { Case_Id__c: caseId, Priority__c: 'High', Summary__c: 'outage' }, event: { replayId: 3 } },
      { org: 'acme', channelConfig },
    );
    expect(mapped).toEqual({
      tool: 'escalate_case',
      arguments: { caseId, summary: 'OUTAGE', org: 'acme' },
      idempotencyKey: `case:${caseId}:3`,
      source: { kind: 'salesforce', reference: 'acme//event/Case_Escalation__e/3' },
      correlation: { requestId: 'sf:acme:Case_Escalation__e:3' },
      writeBack: [
        { type: 'salesforce-record', org: 'acme', sobject: 'Case', recordId: caseId, fields: { Status: 'status' } },
      ],
    });
  });

  it('keeps the default contract for the keys not configured', async () => {
    const mapper = new EventMapper({
      org: 'acme',
      channelConfig: salesforceChannelSchema.parse({ channel: CHANNEL, mapping: { tool: "'fixed_tool'" } }),
    });
    const mapped = await mapper.map(message({ Tool__c: 'ignored', Arguments__c: '{"a":1}', Request_Id__c: 'r' }));
    expect(mapped).toMatchObject({ tool: 'fixed_tool', arguments: { a: 1 }, idempotencyKey: 'r', writeBack: [] });
  });

  it('rejects an event whose expression loops, instead of holding the channel', async () => {
    const looping = new EventMapper({
      org: 'acme',
      // A tail call: JSONata does not grow the stack, so only the time limit stops it.
      channelConfig: { channel: CHANNEL, mapping: { tool: '($f := function($n) { $f($n + 1) }; $f(0))' } },
    });
    expect(await rejectionOf(looping.map(message({ Tool__c: 't' })))).toMatchObject({
      code: 'EVENT_MAPPING_FAILED',
      reason: expect.stringMatching(/^mapping\.tool failed on this event: Evaluation timeout after 1000 milliseconds/),
    });
  });

  it('rejects an event the expressions cannot map', async () => {
    const failing = new EventMapper({
      org: 'acme',
      channelConfig: { channel: CHANNEL, mapping: { tool: '$number(payload.Tool__c)', arguments: 'payload.Tool__c' } },
    });
    const mappingFailed = await rejectionOf(failing.map(message({ Tool__c: 'abc' })));
    expect(mappingFailed).toMatchObject({
      code: 'EVENT_MAPPING_FAILED',
      reason: expect.stringMatching(/^mapping\.tool failed/),
    });
    const noTool = new EventMapper({
      org: 'acme',
      channelConfig: { channel: CHANNEL, mapping: { tool: 'payload.Nope__c' } },
    });
    expect(await rejectionOf(noTool.map(message({ Tool__c: 't' })))).toMatchObject({
      code: 'EVENT_TOOL_MISSING',
      reason: 'mapping.tool is empty: the event names no tool',
    });
    const notObject = new EventMapper({
      org: 'acme',
      channelConfig: { channel: CHANNEL, mapping: { arguments: 'payload.Tool__c' } },
    });
    expect((await rejectionOf(notObject.map(message({ Tool__c: 't' })))).code).toBe('EVENT_BAD_ARGUMENTS');
  });

  it('refuses an expression that does not compile at startup, naming the channel and key', () => {
    const build = () =>
      new EventMapper({ org: 'acme', channelConfig: { channel: CHANNEL, mapping: { writeBack: '[{ "type": ' } } });
    expect(build).toThrow(EventMappingConfigError);
    expect(build).toThrow(
      /salesforce\.orgs\[acme\] channel \/event\/MCP_Tool_Request__e: mapping\.writeBack is not a valid JSONata expression/,
    );
  });
});

describe('rejection codes', () => {
  it('are all documented in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(eventRejectionCodes)) expect(readme).toContain(`| \`${code}\` |`);
  });
});

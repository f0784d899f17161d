import { describe, expect, it } from 'vitest';
import { eventCorrelation, eventSource, refusedEventRequest } from './event-request.ts';

const position = { org: 'acme', channel: '/event/MCP_Tool_Request__e', replayId: 42 };

describe('the request of a refused event', () => {
  it('a message the mapping understood nothing of still gets a record: empty tool, no targets, the event as source', () => {
    expect(refusedEventRequest({}, { ...position, eventUuid: 'uuid-42' })).toEqual({
      tool: '',
      arguments: {},
      writeBack: [],
      idempotencyKey: 'uuid-42',
      source: { kind: 'salesforce', reference: 'acme//event/MCP_Tool_Request__e/42' },
      correlation: { requestId: 'sf:acme:MCP_Tool_Request__e:42' },
    });
  });

  it('without an EventUuid the key is org:channel:replayId, so a redelivered event is one refusal', () => {
    expect(refusedEventRequest({}, position).idempotencyKey).toBe('acme:/event/MCP_Tool_Request__e:42');
  });

  it('keeps what the mapping understood (its key wins over the EventUuid)', () => {
    const partial = {
      tool: 'generate_contract',
      idempotencyKey: 'req-7',
      writeBack: [{ type: 'salesforce-result' as const, org: 'acme' }],
    };
    expect(refusedEventRequest(partial, { ...position, eventUuid: 'uuid-42' })).toMatchObject(partial);
  });

  it('source and correlation name the org, the channel and the replay id', () => {
    expect(eventSource(position)).toEqual({ kind: 'salesforce', reference: 'acme//event/MCP_Tool_Request__e/42' });
    expect(eventCorrelation({ ...position, channel: '/data/AccountChangeEvent' })).toEqual({
      requestId: 'sf:acme:/data/AccountChangeEvent:42',
    });
  });
});

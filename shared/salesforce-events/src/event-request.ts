import type { ToolCallRequest } from '@mcp-broker/contracts';
import type { EventPosition } from './tool-call-sink.ts';

/** Where the call came from: the org, channel and replay id of its event. */
export function eventSource(position: EventPosition): ToolCallRequest['source'] {
  return { kind: 'salesforce', reference: `${position.org}/${position.channel}/${position.replayId}` };
}

/** Every log line and record of an event's call carries where the event came from. */
export function eventCorrelation(position: EventPosition): ToolCallRequest['correlation'] {
  return { requestId: `sf:${position.org}:${position.channel.replace(/^\/event\//, '')}:${position.replayId}` };
}

/**
 * The request to record for an event the mapping refused: what it understood, the rest filled so
 * the refusal has a record (and a stable key, so a redelivered event is one refusal).
 */
export function refusedEventRequest(partial: Partial<ToolCallRequest>, position: EventPosition): ToolCallRequest {
  return {
    tool: partial.tool ?? '',
    arguments: partial.arguments ?? {},
    writeBack: partial.writeBack ?? [],
    idempotencyKey:
      partial.idempotencyKey ?? position.eventUuid ?? `${position.org}:${position.channel}:${position.replayId}`,
    source: partial.source ?? eventSource(position),
    correlation: partial.correlation ?? eventCorrelation(position),
  };
}

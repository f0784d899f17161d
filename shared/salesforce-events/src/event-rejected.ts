import type { ToolCallRequest } from '@mcp-broker/contracts';

/**
 * Why an incoming platform event cannot become a tool call. These are local, stable string codes
 * (they never cross the JSON-RPC wire); the rejection is stored with the event and, when the event
 * named write-back targets, reported to them as a failed result.
 */
export const eventRejectionCodes = {
  /** The message is not `{ payload: {…}, event: { replayId } }`. */
  EVENT_MALFORMED: 'The CometD message has no payload object or no numeric replay id.',
  /** A field that must hold JSON does not parse (the message names the field). */
  EVENT_BAD_JSON: 'A JSON field of the event does not parse.',
  /** No tool name (`Tool__c` empty, or the mapping gave nothing). */
  EVENT_TOOL_MISSING: 'The event names no tool.',
  /** The tool name is not a string of 1 to 128 characters. */
  EVENT_BAD_TOOL: 'The tool name is not a string of 1 to 128 characters.',
  /** The arguments are not a JSON object. */
  EVENT_BAD_ARGUMENTS: 'The arguments are not a JSON object.',
  /** A write-back target is invalid (the message names the index and field). */
  EVENT_BAD_WRITE_BACK: 'A write-back target is invalid.',
  /** The idempotency key is not a string of 1 to 255 characters. */
  EVENT_BAD_IDEMPOTENCY_KEY: 'The idempotency key is not a string of 1 to 255 characters.',
  /** A configured JSONata expression failed while evaluating this event. */
  EVENT_MAPPING_FAILED: 'A configured mapping expression failed on this event.',
} as const;

export type EventRejectionCode = keyof typeof eventRejectionCodes;

/** Thrown by the event mapping: the event is rejected (stored, checkpointed, never retried). */
export class EventRejected extends Error {
  readonly code: EventRejectionCode;
  /** What could be mapped before the failure (tool, write-back targets…), for the rejection record. */
  readonly partial: Partial<ToolCallRequest>;

  constructor(code: EventRejectionCode, reason: string, partial: Partial<ToolCallRequest> = {}) {
    super(reason);
    this.name = 'EventRejected';
    this.code = code;
    this.partial = partial;
  }

  /** The human-readable reason (same as `message`). */
  get reason(): string {
    return this.message;
  }
}

export function isEventRejected(value: unknown): value is EventRejected {
  return value instanceof EventRejected;
}

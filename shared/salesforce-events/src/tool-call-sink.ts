import type { RecordErrorCode, ToolCallRequest } from '@mcp-broker/contracts';

/** Where an event was read: the org (configuration id), the channel and the event's replay id. */
export interface EventPosition {
  org: string;
  channel: string;
  replayId: number;
  /** The event's `EventUuid`, when the message carries one. */
  eventUuid?: string;
}

/** Why an event cannot become a tool call, found by the mapping: an `EVENT_*` code and a reason naming the field. */
export interface EventRefusal {
  code: RecordErrorCode;
  message: string;
}

/** What became of an event's call (the broker core's acceptance, as the connector needs it). */
export type EventAcceptance =
  | { outcome: 'queued' | 'duplicate'; id: string }
  /** Never runs: recorded as a failed call (its write-back targets hear of it) when `id` is given. */
  | { outcome: 'refused'; code: RecordErrorCode; message: string; id?: string };

/**
 * Where events' calls go: the broker core's `accept`. The connector waits for each call before it
 * moves the checkpoint, so an implementation must be durable when it resolves.
 */
export interface ToolCallSink {
  /**
   * Hands one event's call over, once: `queued` (recorded and enqueued, idempotent by
   * `idempotencyKey`), `duplicate` (already recorded) or `refused` (never runs, recorded with the
   * reason). With `refusal` the mapping already refused the event and `request` holds what it
   * understood; nothing else is checked. Throws only for transient trouble (store down…): the event
   * is delivered again from the checkpoint.
   */
  accept(request: ToolCallRequest, position: EventPosition, refusal?: EventRefusal): Promise<EventAcceptance>;
}

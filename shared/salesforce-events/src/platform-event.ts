import type { WriteBackTarget } from '@mcp-broker/contracts';

/** A platform event as Streaming API delivers it (`payload.format` on). */
export interface PlatformEventMessage {
  schema?: string;
  payload: Record<string, unknown> & { CreatedDate?: string; CreatedById?: string };
  event: { EventUuid?: string; replayId: number };
}

/** The tool call an event asks for, before the sink adds caller, endpoint and correlation. */
export interface MappedEvent {
  tool: string;
  arguments: Record<string, unknown>;
  writeBack: WriteBackTarget[];
  idempotencyKey: string;
  source: { kind: 'salesforce'; reference: string };
  /** `payload.Record_Id__c`, when the event names the record it is about. */
  recordId?: string;
}

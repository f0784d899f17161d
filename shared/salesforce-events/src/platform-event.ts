/** A platform event as Streaming API delivers it (`payload.format` on). */
export interface PlatformEventMessage {
  schema?: string;
  payload: Record<string, unknown> & { CreatedDate?: string; CreatedById?: string };
  event: { EventUuid?: string; replayId: number };
}

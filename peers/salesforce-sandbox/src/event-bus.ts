/**
 * The org's event bus: each platform event channel numbers its messages with an increasing
 * `replayId` and retains them for a window (72 hours on Salesforce for high-volume events), so a
 * subscriber can ask for new events only (`-1`), everything retained (`-2`), or what followed a
 * replay id it stored. A stored id that is no longer retained is not replayable.
 */

import { createHash, randomUUID } from 'node:crypto';
import type { SObjectSchema, SObjectType } from './sobject-schema.ts';
import type { PendingEvent } from './sobject-store.ts';

/** The message Streaming API delivers on `/event/<Name>__e`. */
export interface DeliveredEvent {
  channel: string;
  data: {
    schema: string;
    payload: Record<string, unknown>;
    event: { EventUuid: string; replayId: number };
  };
}

export interface RetentionOptions {
  /** How long a published event stays replayable. Default 72 hours. */
  maxAgeMs?: number;
  /** At most this many events per channel stay replayable (oldest dropped first). Default 10,000. */
  maxEvents?: number;
}

export const REPLAY_NEW_EVENTS = -1;
export const REPLAY_ALL_RETAINED = -2;

interface ChannelState {
  lastReplayId: number;
  retained: Array<{ publishedAt: number; message: DeliveredEvent }>;
}

export const channelOf = (sobject: string) => `/event/${sobject}`;

/** Salesforce sends a schema id (a hash of the event's schema) with every event message. */
function schemaId(type: SObjectType): string {
  const shape = `${type.name}:${type.fieldNames().sort().join(',')}`;
  return createHash('sha256').update(shape).digest().subarray(0, 16).toString('base64url');
}

export class EventBus {
  private readonly schema: SObjectSchema;
  private readonly now: () => Date;
  private readonly maxAgeMs: number;
  private readonly maxEvents: number;
  private readonly channels = new Map<string, ChannelState>();
  private readonly listeners: Array<(event: DeliveredEvent) => void> = [];

  constructor(options: { schema: SObjectSchema; now: () => Date; retention?: RetentionOptions }) {
    this.schema = options.schema;
    this.now = options.now;
    this.maxAgeMs = options.retention?.maxAgeMs ?? 72 * 60 * 60 * 1000;
    this.maxEvents = options.retention?.maxEvents ?? 10_000;
  }

  /** Whether `channel` names a platform event of the org (`/event/<Name>__e`). */
  hasChannel(channel: string): boolean {
    const match = /^\/event\/([A-Za-z0-9_]+__e)$/.exec(channel);
    return match?.[1] !== undefined && this.schema.get(match[1])?.name === match[1];
  }

  onPublish(listener: (event: DeliveredEvent) => void): void {
    this.listeners.push(listener);
  }

  publish(event: PendingEvent): DeliveredEvent {
    const type = this.schema.get(event.sobject);
    if (!type?.isEvent) throw new Error(`${event.sobject} is not a platform event of this org`);
    const channel = channelOf(type.name);
    const state = this.state(channel);
    const publishedAt = this.now();
    state.lastReplayId += 1;
    const payload: Record<string, unknown> = {
      CreatedDate: publishedAt.toISOString(),
      CreatedById: event.createdById,
    };
    for (const name of type.fieldNames()) payload[name] = event.fields[name] ?? null;
    const message: DeliveredEvent = {
      channel,
      data: { schema: schemaId(type), payload, event: { EventUuid: randomUUID(), replayId: state.lastReplayId } },
    };
    state.retained.push({ publishedAt: publishedAt.getTime(), message });
    this.evict(state);
    for (const listener of this.listeners) listener(message);
    return message;
  }

  /**
   * What a subscription starting at `replayId` receives before live events, or undefined when
   * the id is neither `-1`, `-2` nor the id of a retained event of the channel.
   */
  replayFrom(channel: string, replayId: number): DeliveredEvent[] | undefined {
    const state = this.state(channel);
    this.evict(state);
    if (replayId === REPLAY_NEW_EVENTS) return [];
    if (replayId === REPLAY_ALL_RETAINED) return state.retained.map((r) => r.message);
    if (!state.retained.some((r) => r.message.data.event.replayId === replayId)) return undefined;
    return state.retained.filter((r) => r.message.data.event.replayId > replayId).map((r) => r.message);
  }

  /** The events of a channel still in the retention window, oldest first. */
  retained(channel: string): DeliveredEvent[] {
    return this.replayFrom(channel, REPLAY_ALL_RETAINED) ?? [];
  }

  private state(channel: string): ChannelState {
    let state = this.channels.get(channel);
    if (!state) {
      state = { lastReplayId: 0, retained: [] };
      this.channels.set(channel, state);
    }
    return state;
  }

  private evict(state: ChannelState): void {
    const oldest = this.now().getTime() - this.maxAgeMs;
    while (state.retained.length > 0 && (state.retained[0]?.publishedAt ?? 0) < oldest) state.retained.shift();
    while (state.retained.length > this.maxEvents) state.retained.shift();
  }
}

/**
 * Durable replay positions: one item per (org, channel) in the Cosmos `checkpoints` container
 * (partition key `/org`). A checkpoint is the replay id of the last event whose tool call was
 * recorded (or whose rejection was stored); it only moves forward.
 */

import { createHash } from 'node:crypto';
import type { Store } from '@mcp-broker/store';

type Container = ReturnType<Store['container']>;

/** The stored item. */
export interface ReplayCheckpoint {
  id: string;
  org: string;
  channel: string;
  /** Absent while only alerts were recorded. */
  replayId?: number;
  updatedAt: string;
  /** The most recent alerts for the channel (newest last, at most `MAX_ALERTS`). */
  alerts?: StoredAlert[];
}

export interface StoredAlert {
  code: string;
  message: string;
  at: string;
  details?: Record<string, unknown>;
}

export interface ReplayCheckpointStoreOptions {
  /** The `checkpoints` container (`store.container('checkpoints')`). */
  container: Container;
  /** The clock for `updatedAt`. Default the system clock. */
  now?: () => Date;
  /** How many read-compare-replace rounds a save tries when it races another writer. Default 10. */
  maxAttempts?: number;
}

const MAX_ALERTS = 20;

/** The item id of a channel's checkpoint: a hash, since channel names hold `/`, which ids may not. */
export function checkpointId(org: string, channel: string): string {
  return `replay-${createHash('sha256').update(`${org}\n${channel}`).digest('hex').slice(0, 40)}`;
}

export class ReplayCheckpointStore {
  readonly #container: Container;
  readonly #now: () => Date;
  readonly #maxAttempts: number;

  constructor(options: ReplayCheckpointStoreOptions) {
    this.#container = options.container;
    this.#now = options.now ?? (() => new Date());
    this.#maxAttempts = options.maxAttempts ?? 10;
  }

  /** The stored replay id, or undefined when the channel has never been checkpointed. */
  async get(org: string, channel: string): Promise<number | undefined> {
    return (await this.read(org, channel))?.replayId;
  }

  /** The whole item (replay id, `updatedAt`, alerts). */
  async read(org: string, channel: string): Promise<ReplayCheckpoint | undefined> {
    return (await this.#readWithEtag(org, channel))?.item;
  }

  /**
   * Moves the checkpoint forward to `replayId`; a lower or equal id leaves it as it is (a
   * re-delivered or replayed event never moves it back). Concurrent writers are resolved with
   * ETag-conditioned replaces, so the stored id is always the maximum saved.
   */
  async save(org: string, channel: string, replayId: number): Promise<void> {
    await this.#update(org, channel, (current) =>
      current.replayId !== undefined && current.replayId >= replayId
        ? undefined
        : { ...current, replayId, updatedAt: this.#now().toISOString() },
    );
  }

  /** Appends an alert (replay refused…) to the channel's item, keeping the last 20. */
  async recordAlert(org: string, channel: string, alert: Omit<StoredAlert, 'at'> & { at?: string }): Promise<void> {
    const stored: StoredAlert = { ...alert, at: alert.at ?? this.#now().toISOString() };
    await this.#update(org, channel, (current) => ({
      ...current,
      alerts: [...(current.alerts ?? []), stored].slice(-MAX_ALERTS),
      updatedAt: stored.at,
    }));
  }

  /**
   * Read, change, write back conditioned on the ETag; a missing item is created. `change` returns undefined when nothing is to be written.
   */
  async #update(
    org: string,
    channel: string,
    change: (current: ReplayCheckpoint) => ReplayCheckpoint | undefined,
  ): Promise<void> {
    const id = checkpointId(org, channel);
    for (let attempt = 1; ; attempt += 1) {
      const existing = await this.#readWithEtag(org, channel);
      const current = existing?.item ?? { id, org, channel, updatedAt: this.#now().toISOString() };
      const next = change(current);
      if (!next) return;
      try {
        if (existing) {
          await this.#container
            .item(id, org)
            .replace(strip(next), { accessCondition: { type: 'IfMatch', condition: existing.etag } });
        } else {
          await this.#container.items.create(strip(next));
        }
        return;
      } catch (error) {
        const code = (error as { code?: number }).code;
        // 412: someone replaced it since we read; 409: someone created it since we read.
        if ((code !== 412 && code !== 409) || attempt >= this.#maxAttempts) throw error;
      }
    }
  }

  async #readWithEtag(org: string, channel: string): Promise<{ item: ReplayCheckpoint; etag: string } | undefined> {
    const response = await this.#container.item(checkpointId(org, channel), org).read<ReplayCheckpoint>();
    if (response.statusCode === 404 || !response.resource) return undefined;
    return { item: strip(response.resource), etag: response.etag };
  }
}

/** Drops Cosmos system properties (`_etag`, `_ts`…) so they are not written back. */
function strip(item: ReplayCheckpoint): ReplayCheckpoint {
  const { id, org, channel, replayId, updatedAt, alerts } = item;
  return {
    id,
    org,
    channel,
    ...(replayId === undefined ? {} : { replayId }),
    updatedAt,
    ...(alerts ? { alerts } : {}),
  };
}

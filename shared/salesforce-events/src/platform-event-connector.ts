/**
 * Platform events in, for every configured org × channel. Each channel runs its own loop:
 *
 *   try to acquire the lease ──no──▶ standby; try again every `acquireEveryMs` (ttl/2)
 *         │yes
 *         ▼
 *   leader: run a ChannelSubscriber from the checkpoint ── lease lost ──▶ stop it ──▶ standby
 *
 * Every replica runs the connector; the Redis lease makes exactly one of them the subscriber of
 * a channel, and a standby takes over (from the Cosmos checkpoint) once a dead leader's lease
 * expires.
 */

import type { SalesforceOrgConfig } from '@mcp-broker/broker-config';
import type { Store } from '@mcp-broker/store';
import type { Redis } from 'ioredis';
import { type BackoffOptions, sleep } from './backoff.ts';
import {
  type ChannelSettings,
  ChannelSubscriber,
  type ChannelSubscriberState,
  type ChannelSubscriberStatus,
  type ReplayRefusedAlert,
  type SalesforceConnections,
} from './channel-subscriber.ts';
import { EventMapper } from './event-mapping.ts';
import { type EventsLogger, silentLogger } from './events-logger.ts';
import { ReplayCheckpointStore } from './replay-checkpoint-store.ts';
import { DEFAULT_LEASE_TTL_MS, type LeaseLostReason, SubscriberLease } from './subscriber-lease.ts';
import type { ToolCallSink } from './tool-call-sink.ts';

/** What the connector needs of an org's configuration. */
export type ConnectorOrg = Pick<SalesforceOrgConfig, 'id'> & { channels: ChannelSettings[] };

export interface PlatformEventConnectorOptions {
  /** The connected orgs (`salesforce.orgs` of the broker configuration). */
  orgs: ConnectorOrg[];
  /** Holds the leases. */
  redis: Redis;
  /** Prefix of every Redis key (lets deployments and test runs share one Redis). */
  keyPrefix: string;
  /** The store with the `checkpoints` container. */
  store: Pick<Store, 'container'>;
  /** Connections per org id; called once per org and shared by its channels. */
  connections: (orgId: string) => SalesforceConnections;
  sink: ToolCallSink;
  /** Default: silent. */
  logger?: EventsLogger;
  /** Called after a replay alert was recorded on the channel's checkpoint item. */
  onAlert?: (alert: ReplayRefusedAlert) => void | Promise<void>;
  /** Lease time to live. Default 15,000 ms; the leader renews every third of it. */
  leaseTtlMs?: number;
  /** How often a standby tries to take the lease. Default half the lease TTL. */
  acquireEveryMs?: number;
  /** Backoff after a failure to connect, authenticate or subscribe. Default 1 s doubling to 30 s. */
  connectBackoff?: BackoffOptions;
  /** Backoff after a sink or checkpoint failure. Default 1 s doubling to 30 s. */
  processingBackoff?: BackoffOptions;
  /** The clock for status and stored times. Default the system clock. */
  now?: () => Date;
}

export type ChannelRole = 'leader' | 'standby' | 'stopped';

/** One channel as this replica sees it (for a health endpoint). */
export interface ChannelStatus {
  org: string;
  channel: string;
  role: ChannelRole;
  /** The subscriber's state while leader. */
  state?: ChannelSubscriberState;
  /** The last checkpoint this replica saved or loaded. */
  lastReplayId?: number;
  /** Events the subscriber holds now (received, not yet checkpointed; at most the high-water mark) while leader. */
  eventsHeld?: number;
  /** The most events its subscriber held at once (the current or last leadership term). */
  peakEventsHeld?: number;
  /** Events handled by this replica (all leadership terms). */
  eventsProcessed: number;
  eventsRejected: number;
  lastEventAt?: string;
  lastError?: { message: string; kind: string; at: string };
  /** Times this replica became the leader. */
  terms: number;
  /** When this replica last tried (or renewed into) the lease: a live standby keeps it recent. */
  lastLeaseCheckAt?: string;
}

/** The Redis key of a channel's lease. */
export function leaseKey(prefix: string, org: string, channel: string): string {
  return `${prefix}salesforce-events:lease:${org}:${channel}`;
}

interface ChannelSlot {
  org: string;
  settings: ChannelSettings;
  mapper: EventMapper;
  role: ChannelRole;
  subscriber: ChannelSubscriber | undefined;
  /** Totals of finished leadership terms. */
  done: { eventsProcessed: number; eventsRejected: number };
  last: ChannelSubscriberStatus | undefined;
  lastError: ChannelStatus['lastError'];
  terms: number;
  lastLeaseCheckAt: string | undefined;
  loop: Promise<void> | undefined;
}

export class PlatformEventConnector {
  readonly checkpoints: ReplayCheckpointStore;
  readonly #o: PlatformEventConnectorOptions;
  readonly #logger: EventsLogger;
  readonly #now: () => Date;
  readonly #ttlMs: number;
  readonly #acquireEveryMs: number;
  readonly #slots: ChannelSlot[] = [];
  readonly #connections = new Map<string, SalesforceConnections>();
  #abort = new AbortController();
  #releaseOnStop = true;

  /** Compiles every channel's mapping: a bad expression throws `EventMappingConfigError` here. */
  constructor(options: PlatformEventConnectorOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
    this.#ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#acquireEveryMs = options.acquireEveryMs ?? Math.max(1, Math.floor(this.#ttlMs / 2));
    this.checkpoints = new ReplayCheckpointStore({ container: options.store.container('checkpoints'), now: this.#now });
    const seen = new Set<string>();
    for (const org of options.orgs) {
      for (const settings of org.channels) {
        const key = `${org.id} ${settings.channel}`;
        if (seen.has(key)) throw new Error(`salesforce.orgs[${org.id}]: channel ${settings.channel} is listed twice`);
        seen.add(key);
        this.#slots.push({
          org: org.id,
          settings,
          mapper: new EventMapper({ org: org.id, channelConfig: settings }),
          role: 'stopped',
          subscriber: undefined,
          done: { eventsProcessed: 0, eventsRejected: 0 },
          last: undefined,
          lastError: undefined,
          terms: 0,
          lastLeaseCheckAt: undefined,
          loop: undefined,
        });
      }
    }
  }

  /** Starts every channel's lease loop (idempotent while running). */
  start(): void {
    if (this.#slots.some((slot) => slot.loop)) return;
    this.#abort = new AbortController();
    this.#releaseOnStop = true;
    for (const slot of this.#slots) {
      slot.role = 'standby';
      slot.loop = this.#runChannel(slot).catch((error: unknown) => {
        this.#logger.error(
          { org: slot.org, channel: slot.settings.channel, err: error },
          'Salesforce events: channel loop crashed',
        );
        slot.lastError = { kind: 'crashed', message: String(error), at: this.#now().toISOString() };
      });
    }
  }

  /**
   * Stops every subscriber (each finishes its event in progress) and releases the leases, so a
   * standby takes over at once. `releaseLeases: false` leaves them to expire, as a crash would.
   */
  async stop(options: { releaseLeases?: boolean } = {}): Promise<void> {
    this.#releaseOnStop = options.releaseLeases ?? true;
    this.#abort.abort();
    await Promise.all(this.#slots.map((slot) => slot.loop));
    for (const slot of this.#slots) {
      slot.loop = undefined;
      slot.role = 'stopped';
    }
  }

  /** Per channel: leader or standby, last replay id, events processed, last error. */
  status(): ChannelStatus[] {
    return this.#slots.map((slot) => {
      const current = slot.subscriber?.status();
      const last = current ?? slot.last;
      const errors = [slot.lastError, last?.lastError].filter((e) => e !== undefined);
      const lastError = errors.sort((a, b) => a.at.localeCompare(b.at)).at(-1);
      return {
        org: slot.org,
        channel: slot.settings.channel,
        role: slot.role,
        ...(current ? { state: current.state, eventsHeld: current.eventsHeld } : {}),
        ...(last?.lastReplayId === undefined ? {} : { lastReplayId: last.lastReplayId }),
        ...(last ? { peakEventsHeld: last.peakEventsHeld } : {}),
        eventsProcessed: slot.done.eventsProcessed + (current?.eventsProcessed ?? 0),
        eventsRejected: slot.done.eventsRejected + (current?.eventsRejected ?? 0),
        ...(last?.lastEventAt === undefined ? {} : { lastEventAt: last.lastEventAt }),
        ...(lastError ? { lastError } : {}),
        terms: slot.terms,
        ...(slot.lastLeaseCheckAt ? { lastLeaseCheckAt: slot.lastLeaseCheckAt } : {}),
      };
    });
  }

  async #runChannel(slot: ChannelSlot): Promise<void> {
    const signal = this.#abort.signal;
    const log = { org: slot.org, channel: slot.settings.channel };
    while (!signal.aborted) {
      let lost!: (reason: LeaseLostReason) => void;
      const leaseLost = new Promise<LeaseLostReason>((resolve) => {
        lost = resolve;
      });
      const lease = new SubscriberLease({
        redis: this.#o.redis,
        key: leaseKey(this.#o.keyPrefix, slot.org, slot.settings.channel),
        ttlMs: this.#ttlMs,
        onLost: lost,
      });
      let acquired = false;
      try {
        acquired = await lease.acquire();
      } catch (error) {
        this.#logger.warn({ ...log, err: error }, 'Salesforce events: cannot reach Redis for the subscriber lease');
        slot.lastError = { kind: 'lease', message: (error as Error).message, at: this.#now().toISOString() };
      }
      slot.lastLeaseCheckAt = this.#now().toISOString();
      if (acquired) {
        const reason = await this.#lead(slot, lease, leaseLost);
        if (reason === 'stopped') break;
        this.#logger.warn(
          { ...log, reason },
          'Salesforce events: subscriber lease lost; stopped subscribing, now standby',
        );
        slot.lastError = { kind: 'lease', message: `lease lost (${reason})`, at: this.#now().toISOString() };
      }
      await sleep(this.#acquireEveryMs, signal);
    }
  }

  /** Runs the channel's subscriber while the lease holds; returns why it stopped. */
  async #lead(
    slot: ChannelSlot,
    lease: SubscriberLease,
    leaseLost: Promise<LeaseLostReason>,
  ): Promise<LeaseLostReason | 'stopped'> {
    const signal = this.#abort.signal;
    const log = { org: slot.org, channel: slot.settings.channel };
    let reason: LeaseLostReason | 'stopped' = 'stopped';
    if (!signal.aborted) {
      slot.role = 'leader';
      slot.terms += 1;
      this.#logger.info(
        { ...log, holder: lease.token },
        'Salesforce events: this replica now subscribes to the channel',
      );
      const subscriber = this.#subscriberFor(slot);
      slot.subscriber = subscriber;
      subscriber.start();
      const stopped = new Promise<'stopped'>((resolve) => {
        if (signal.aborted) resolve('stopped');
        signal.addEventListener('abort', () => resolve('stopped'), { once: true });
      });
      reason = await Promise.race([leaseLost, stopped]);
      await subscriber.stop();
      const final = subscriber.status();
      slot.last = final;
      slot.done.eventsProcessed += final.eventsProcessed;
      slot.done.eventsRejected += final.eventsRejected;
      slot.subscriber = undefined;
      slot.role = 'standby';
    }
    if (reason === 'stopped') {
      if (this.#releaseOnStop) {
        await lease.release().catch((error: unknown) => {
          this.#logger.warn(
            { ...log, err: error },
            'Salesforce events: releasing the lease failed; it expires by itself',
          );
        });
      } else {
        lease.abandon();
      }
    }
    return reason;
  }

  #subscriberFor(slot: ChannelSlot): ChannelSubscriber {
    return new ChannelSubscriber({
      org: slot.org,
      channel: slot.settings,
      mapper: slot.mapper,
      connections: this.#connectionsFor(slot.org),
      checkpoints: this.checkpoints,
      sink: this.#o.sink,
      logger: this.#logger,
      onAlert: (alert) => this.#alert(alert),
      ...(this.#o.connectBackoff ? { connectBackoff: this.#o.connectBackoff } : {}),
      ...(this.#o.processingBackoff ? { processingBackoff: this.#o.processingBackoff } : {}),
      now: this.#now,
    });
  }

  #connectionsFor(org: string): SalesforceConnections {
    let connections = this.#connections.get(org);
    if (!connections) {
      connections = this.#o.connections(org);
      this.#connections.set(org, connections);
    }
    return connections;
  }

  async #alert(alert: ReplayRefusedAlert): Promise<void> {
    const { code, message, at, ...details } = alert;
    try {
      await this.checkpoints.recordAlert(alert.org, alert.channel, { code, message, at, details });
    } catch (error) {
      this.#logger.error(
        { org: alert.org, channel: alert.channel, err: error },
        'Salesforce events: storing the alert failed',
      );
    }
    await this.#o.onAlert?.(alert);
  }
}

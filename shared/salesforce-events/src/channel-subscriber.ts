/**
 * Reads one (org, channel) of platform events into the tool-call sink:
 *
 *   delivered → map → sink.accept (queued, duplicate or refused)   up to `concurrency` events at once
 *             → commit in replay order → checkpoint.save(replayId)  every `checkpointEvery`
 *
 * The checkpoint moves only past events the sink has durably taken, and every event before them
 * (it never passes one still in hand), so a crash or a sink failure re-delivers from the
 * checkpoint, and the idempotency keys absorb the repeats: each event is still one call. The
 * subscriber holds at most `highWaterMark` events (see `StreamingSession`). A malformed
 * event is handed over with the mapping's refusal, recorded and checkpointed like one the broker
 * refuses: it never blocks the channel.
 *
 * Each streaming client lives in a `StreamingSession`; when one ends the subscriber decides what
 * comes next:
 *
 * | session ended by | next |
 * |---|---|
 * | sink (`accept` threw: transient) or checkpoint failure | back off, new client from the checkpoint |
 * | auth failure (`401::Authentication invalid`, `403::Handshake denied`) | `reauthenticate()`, new client with the new token, from the checkpoint |
 * | refused replay id | alert `SALESFORCE_REPLAY_REFUSED`, new client from `replayFallback` (-2 or -1) |
 * | refused subscription (unknown channel…) | back off, retry |
 * | overflow (an answer bigger than the room under the high-water mark) | new client at once, from the checkpoint |
| `stop()` | finish the events in progress, disconnect |
 */

import { SALESFORCE_CHANNEL_DEFAULTS, type SalesforceChannelConfig } from '@mcp-broker/broker-config';
import type { ToolCallRequest } from '@mcp-broker/contracts';
import type { Backoff } from '@mcp-broker/resilience';
import type { Connection } from 'jsforce';
import { type BackoffOptions, reconnectBackoff, sleep, unlessAborted } from './backoff.ts';
import { EventMapper } from './event-mapping.ts';
import { EventRejected } from './event-rejected.ts';
import { refusedEventRequest } from './event-request.ts';
import { type EventsLogger, silentLogger } from './events-logger.ts';
import type { ReplayCheckpointStore } from './replay-checkpoint-store.ts';
import { type SessionEnd, StreamingSession } from './streaming-session.ts';
import type { EventPosition, EventRefusal, ToolCallSink } from './tool-call-sink.ts';

/** Authenticated jsforce connections to one org. */
export interface SalesforceConnections {
  /** The current connection (logging in when there is none yet). */
  connection(): Promise<Connection>;
  /** Logs in again (the session expired) and returns the new connection. */
  reauthenticate(): Promise<Connection>;
}

/** What the subscriber needs of a channel's configuration; omitted settings take the schema's defaults. */
export type ChannelSettings = Pick<SalesforceChannelConfig, 'channel'> &
  Partial<
    Pick<
      SalesforceChannelConfig,
      | 'mapping'
      | 'replayFallback'
      | 'initialReplay'
      | 'checkpointEvery'
      | 'concurrency'
      | 'highWaterMark'
      | 'lowWaterMark'
    >
  >;

export type ReplayPolicy = SalesforceChannelConfig['replayFallback'];

/** Raised when Salesforce refuses the stored replay id and the subscriber falls back. */
export interface ReplayRefusedAlert {
  code: 'SALESFORCE_REPLAY_REFUSED';
  org: string;
  channel: string;
  /** The refused replay id. */
  replayId: number;
  fallback: ReplayPolicy;
  /** The replay id subscribed with instead: -2 (all retained) or -1 (new events only). */
  fallbackReplayId: -1 | -2;
  message: string;
  at: string;
}

export interface ChannelSubscriberOptions {
  /** The org's configuration id (`salesforce.orgs[].id`). */
  org: string;
  channel: ChannelSettings;
  connections: SalesforceConnections;
  checkpoints: Pick<ReplayCheckpointStore, 'get' | 'save'>;
  sink: ToolCallSink;
  /** Default: silent. */
  logger?: EventsLogger;
  /** Called (and awaited, errors logged) when the stored replay id is refused. */
  onAlert?: (alert: ReplayRefusedAlert) => void | Promise<void>;
  /** A compiled mapping for the channel. Default: compiled from `channel.mapping` here. */
  mapper?: EventMapper;
  /** Backoff after a failure to connect, authenticate or subscribe. Default 1 s doubling to 30 s. */
  connectBackoff?: BackoffOptions;
  /** Backoff after a sink or checkpoint failure. Default 1 s doubling to 30 s. */
  processingBackoff?: BackoffOptions;
  /** The clock for status and alert times. Default the system clock. */
  now?: () => Date;
}

export type ChannelSubscriberState = 'idle' | 'connecting' | 'subscribed' | 'backing-off' | 'stopped';

export interface ChannelSubscriberStatus {
  org: string;
  channel: string;
  state: ChannelSubscriberState;
  /** The checkpoint: the replay id of the last event fully handled (or loaded from the store). */
  lastReplayId?: number;
  /** Events handed to the sink by this subscriber. */
  eventsProcessed: number;
  /** Of those, refused (malformed, or refused by the broker). */
  eventsRejected: number;
  /** Streaming clients built so far. */
  sessions: number;
  /** Events held now: received and not yet checkpointed (at most the high-water mark). */
  eventsHeld: number;
  /** The most events held at once. */
  peakEventsHeld: number;
  lastEventAt?: string;
  lastError?: { message: string; kind: string; at: string };
}

const REPLAY_ALL = -2;
const REPLAY_NEW = -1;
const replayIdFor = (policy: ReplayPolicy): -1 | -2 => (policy === 'all-retained' ? REPLAY_ALL : REPLAY_NEW);

export class ChannelSubscriber {
  readonly org: string;
  readonly channel: string;
  readonly #o: ChannelSubscriberOptions;
  readonly #mapper: EventMapper;
  readonly #logger: EventsLogger;
  readonly #log: { org: string; channel: string };
  readonly #now: () => Date;
  readonly #connectBackoff: Backoff;
  readonly #processingBackoff: Backoff;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #session: StreamingSession | undefined;
  /** The checkpoint as last loaded or saved. */
  #position: number | undefined;
  #positionLoaded = false;
  /** After a refused replay id: where to subscribe until an event is handled. */
  #fallback: -1 | -2 | undefined;
  /**
   * The event a session started with -1 failed on, before anything could be checkpointed: -1
   * again would skip it, so the next session starts from -2 and drops what came before it.
   */
  #floor: number | undefined;
  /** The current session's start: its replay id, and the events below `skipBelow` it must drop. */
  #start: { replayFrom: number; skipBelow?: number } = { replayFrom: REPLAY_NEW };
  #status: ChannelSubscriberStatus;
  /** The replay id handled but not yet written to the checkpoint, and how many events that covers. */
  #unsaved: { replayId: number; events: number } | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  readonly #checkpointEvery: { events: number; ms: number };
  /** The largest long-poll answer a session saw, handed to the next so its first answer fits too. */
  #largestAnswer = 0;
  #peakHeld = 0;

  constructor(options: ChannelSubscriberOptions) {
    this.#o = options;
    this.org = options.org;
    this.channel = options.channel.channel;
    this.#mapper = options.mapper ?? new EventMapper({ org: options.org, channelConfig: options.channel });
    this.#logger = options.logger ?? silentLogger;
    this.#log = { org: this.org, channel: this.channel };
    this.#now = options.now ?? (() => new Date());
    this.#connectBackoff = reconnectBackoff(options.connectBackoff);
    this.#processingBackoff = reconnectBackoff(options.processingBackoff);
    this.#checkpointEvery = options.channel.checkpointEvery ?? SALESFORCE_CHANNEL_DEFAULTS.checkpointEvery;
    this.#status = {
      ...this.#log,
      state: 'idle',
      eventsProcessed: 0,
      eventsRejected: 0,
      sessions: 0,
      eventsHeld: 0,
      peakEventsHeld: 0,
    };
  }

  /** A snapshot for health endpoints. */
  status(): ChannelSubscriberStatus {
    const peak = Math.max(this.#peakHeld, this.#session?.peakHeld ?? 0);
    return {
      ...this.#status,
      eventsHeld: this.#session?.held ?? 0,
      peakEventsHeld: peak,
      ...(this.#position === undefined ? {} : { lastReplayId: this.#position }),
    };
  }

  /** Starts reading in the background (idempotent while running). */
  start(): void {
    if (this.#running) return;
    this.#abort = new AbortController();
    this.#positionLoaded = false;
    this.#running = this.#run().catch((error: unknown) => {
      // #run handles its own failures; this is a bug guard, not a path.
      this.#logger.error({ ...this.#log, err: error }, 'Salesforce events: channel subscriber crashed');
      this.#setError('crashed', error);
    });
  }

  /** Finishes the event in progress, disconnects, and resolves once stopped. Restartable. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#session?.end({ kind: 'stopped' });
    await this.#running;
    this.#running = undefined;
    await this.#flushQuietly();
    this.#status.state = 'stopped';
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let reauthenticate = false;
    while (!signal.aborted) {
      this.#status.state = 'connecting';
      let connection: Connection | undefined;
      try {
        // A hanging store or login must not hold up stop(): both are raced with the abort signal.
        if (!this.#positionLoaded) {
          const loaded = await unlessAborted(this.#loadCheckpoint(), signal);
          if (!loaded) break;
          this.#position = loaded.replayId;
          this.#positionLoaded = true;
        }
        const login = reauthenticate ? this.#o.connections.reauthenticate() : this.#o.connections.connection();
        connection = await unlessAborted(login, signal);
        reauthenticate = false;
      } catch (error) {
        this.#logger.error(
          { ...this.#log, err: error },
          'Salesforce events: cannot load the checkpoint or connect; retrying',
        );
        this.#setError(this.#positionLoaded ? 'connect' : 'checkpoint', error);
        await this.#backOff(this.#connectBackoff);
        continue;
      }
      if (signal.aborted || !connection) break;

      const { end, subscribed } = await this.#runSession(connection);
      if (end.kind === 'stopped') break;
      if (end.kind === 'auth-failed') {
        this.#logger.warn(
          { ...this.#log, reason: end.message },
          'Salesforce events: streaming session no longer valid; logging in again',
        );
        this.#setError('auth', end.message);
        reauthenticate = true;
        // A session that had subscribed simply expired: log in again at once. One that never got
        // that far (a fresh token refused) backs off.
        if (!subscribed) await this.#backOff(this.#connectBackoff);
      } else if (end.kind === 'replay-refused') {
        await this.#fallBack(end);
      } else if (end.kind === 'overflow') {
        this.#logger.info(
          { ...this.#log, dropped: end.dropped, resumeFrom: this.#position },
          'Salesforce events: resubscribing from the checkpoint for the events beyond the high-water mark',
        );
      } else if (end.kind === 'subscribe-failed') {
        this.#logger.error({ ...this.#log, reason: end.message }, 'Salesforce events: subscription refused; retrying');
        this.#setError('subscribe', end.message);
        await this.#backOff(this.#connectBackoff);
      } else {
        this.#logger.error(
          { ...this.#log, replayId: end.replayId, err: end.error },
          'Salesforce events: handing an event to the sink failed; resubscribing from the checkpoint',
        );
        this.#setError('processing', end.error);
        await this.#backOff(this.#processingBackoff);
      }
    }
  }

  async #loadCheckpoint(): Promise<{ replayId: number | undefined }> {
    return { replayId: await this.#o.checkpoints.get(this.org, this.channel) };
  }

  /** One streaming client, from subscribe to its end (closed before returning). */
  async #runSession(connection: Connection): Promise<{ end: SessionEnd; subscribed: boolean }> {
    let subscribed = false;
    this.#start = this.#subscriptionStart();
    const { replayFrom } = this.#start;
    const { channel } = this.#o;
    const session = new StreamingSession({
      connection,
      channel: this.channel,
      replayFrom,
      process: (message, replayId) => this.#process(message, replayId),
      commit: (replayId) => this.#commit(replayId),
      // More at once than the session may hold would never run: capped at the high-water mark.
      concurrency: Math.min(
        channel.concurrency ?? SALESFORCE_CHANNEL_DEFAULTS.concurrency,
        channel.highWaterMark ?? SALESFORCE_CHANNEL_DEFAULTS.highWaterMark,
      ),
      highWaterMark: channel.highWaterMark ?? SALESFORCE_CHANNEL_DEFAULTS.highWaterMark,
      ...(channel.lowWaterMark === undefined ? {} : { lowWaterMark: channel.lowWaterMark }),
      largestAnswer: this.#largestAnswer,
      onSubscribed: () => {
        subscribed = true;
        this.#status.state = 'subscribed';
        this.#connectBackoff.reset();
        this.#logger.info({ ...this.#log, replayFrom }, 'Salesforce events: subscribed');
      },
      logger: this.#logger,
      logContext: this.#log,
    });
    this.#session = session;
    this.#status.sessions += 1;
    if (this.#abort.signal.aborted) session.end({ kind: 'stopped' });
    else session.open();
    const end = await session.ended;
    await session.close();
    this.#largestAnswer = Math.max(this.#largestAnswer, session.largestAnswer);
    this.#peakHeld = Math.max(this.#peakHeld, session.peakHeld);
    this.#session = undefined;
    await this.#flushQuietly();
    return { end, subscribed };
  }

  /** Where the next session subscribes from. */
  #subscriptionStart(): { replayFrom: number; skipBelow?: number } {
    if (this.#fallback === undefined && this.#position !== undefined) return { replayFrom: this.#position };
    if (this.#floor !== undefined) return { replayFrom: REPLAY_ALL, skipBelow: this.#floor };
    return { replayFrom: this.#fallback ?? replayIdFor(this.#o.channel.initialReplay ?? 'new-only') };
  }

  /** Map → accept. Throws (ending the session) when the sink fails. Several run at once. */
  async #process(message: unknown, replayId: number): Promise<void> {
    const { replayFrom, skipBelow } = this.#start;
    if (skipBelow !== undefined && replayId < skipBelow) return;
    if (replayFrom === REPLAY_NEW) this.#floor ??= replayId;
    const eventUuid = (message as { event?: { EventUuid?: unknown } }).event?.EventUuid;
    const position: EventPosition = {
      org: this.org,
      channel: this.channel,
      replayId,
      ...(typeof eventUuid === 'string' ? { eventUuid } : {}),
    };
    let request: ToolCallRequest;
    let refusal: EventRefusal | undefined;
    try {
      request = await this.#mapper.map(message);
    } catch (error) {
      if (!(error instanceof EventRejected)) throw error;
      this.#logger.warn(
        { ...this.#log, replayId, code: error.code, reason: error.reason },
        'Salesforce events: event rejected',
      );
      refusal = { code: error.code, message: error.reason };
      request = refusedEventRequest(error.partial, position);
    }
    const acceptance = await this.#o.sink.accept(request, position, refusal);
    if (acceptance.outcome === 'refused') {
      if (!refusal) {
        this.#logger.warn(
          { ...this.#log, replayId, code: acceptance.code, reason: acceptance.message },
          'Salesforce events: the broker refused the event',
        );
      }
    } else {
      this.#logger.info(
        { ...this.#log, replayId, tool: request.tool, callId: acceptance.id, created: acceptance.outcome === 'queued' },
        acceptance.outcome === 'queued'
          ? 'Salesforce events: tool call recorded'
          : 'Salesforce events: event already recorded',
      );
    }
    this.#status.eventsProcessed += 1;
    if (acceptance.outcome === 'refused') this.#status.eventsRejected += 1;
    this.#status.lastEventAt = this.#now().toISOString();
  }

  /**
   * An event handled, with every event before it: the position moves to it and the checkpoint
   * follows (`checkpointEvery`). Called in replay order, one at a time. Throws (ending the
   * session) when a checkpoint write due now fails.
   */
  async #commit(replayId: number): Promise<void> {
    const { skipBelow } = this.#start;
    if (skipBelow !== undefined && replayId < skipBelow) return;
    await this.#checkpoint(replayId);
    if (this.#position === undefined || replayId > this.#position) this.#position = replayId;
    this.#fallback = undefined;
    this.#floor = undefined;
    this.#processingBackoff.reset();
  }

  /** Writes the checkpoint when `checkpointEvery` says so; otherwise a timer writes it later. */
  async #checkpoint(replayId: number): Promise<void> {
    const every = this.#checkpointEvery;
    const events = (this.#unsaved?.events ?? 0) + 1;
    this.#unsaved = { replayId: Math.max(replayId, this.#unsaved?.replayId ?? replayId), events };
    if (events >= every.events || every.ms <= 0) {
      // A failure throws and ends the session, as an unwritten checkpoint did before batching.
      await this.#flush();
      return;
    }
    this.#saveTimer ??= setTimeout(() => {
      this.#saveTimer = undefined;
      void this.#flushQuietly();
    }, every.ms);
    this.#saveTimer.unref?.();
  }

  async #flush(): Promise<void> {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    const unsaved = this.#unsaved;
    if (!unsaved) return;
    this.#unsaved = undefined;
    try {
      await this.#o.checkpoints.save(this.org, this.channel, unsaved.replayId);
    } catch (error) {
      // Kept to be written again (the store only moves forward, so a later id covers it).
      const later = this.#unsaved as { replayId: number; events: number } | undefined;
      this.#unsaved = {
        replayId: Math.max(unsaved.replayId, later?.replayId ?? unsaved.replayId),
        events: unsaved.events + (later?.events ?? 0),
      };
      throw error;
    }
  }

  /** A flush outside an event (timer, session end, stop): a failure is logged; the next write or a replay covers it. */
  async #flushQuietly(): Promise<void> {
    try {
      await this.#flush();
    } catch (error) {
      this.#logger.error({ ...this.#log, err: error }, 'Salesforce events: writing the checkpoint failed');
      this.#setError('checkpoint', error);
    }
  }

  async #fallBack(end: Extract<SessionEnd, { kind: 'replay-refused' }>): Promise<void> {
    const policy = this.#o.channel.replayFallback ?? 'all-retained';
    const fallbackReplayId = replayIdFor(policy);
    if (end.replayId < 0) {
      // -1 and -2 are never out of retention: this is not the documented refusal.
      this.#setError('subscribe', end.message);
      await this.#backOff(this.#connectBackoff);
      return;
    }
    this.#fallback = fallbackReplayId;
    const alert: ReplayRefusedAlert = {
      code: 'SALESFORCE_REPLAY_REFUSED',
      org: this.org,
      channel: this.channel,
      replayId: end.replayId,
      fallback: policy,
      fallbackReplayId,
      message:
        `Salesforce refused replay id ${end.replayId} (older than its retention); resubscribing with ${fallbackReplayId} (${policy}): ` +
        (policy === 'all-retained'
          ? 'events already handled may be delivered again (their idempotency keys absorb them)'
          : 'events published while the subscriber was away are skipped'),
      at: this.#now().toISOString(),
    };
    this.#logger.error({ ...this.#log, alert, reason: end.message }, alert.message);
    this.#setError('replay-refused', alert.message);
    try {
      await this.#o.onAlert?.(alert);
    } catch (error) {
      this.#logger.error({ ...this.#log, err: error }, 'Salesforce events: recording the replay alert failed');
    }
  }

  async #backOff(backoff: Backoff): Promise<void> {
    if (this.#abort.signal.aborted) return;
    this.#status.state = 'backing-off';
    await sleep(backoff.next(), this.#abort.signal);
  }

  #setError(kind: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#status.lastError = { kind, message, at: this.#now().toISOString() };
  }
}

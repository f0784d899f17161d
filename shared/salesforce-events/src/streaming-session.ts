import { raceAbort } from '@mcp-broker/resilience';
/**
 * One jsforce streaming client for one channel, from subscribe to its end: it subscribes from a
 * replay position, queues delivered events and hands them to `process` strictly one at a time, in
 * order, and ends with the first reason it meets (auth failure, refused replay id, refused
 * subscription, a processing failure, or `end()` from outside). A session is never reused: the
 * `ChannelSubscriber` builds a new one (a new client, with the current token) after each end.
 *
 * Left to faye: a server that forgot the client (`403::Unknown client`, advice `handshake`).
 * faye re-handshakes and resubscribes, and jsforce's `Replay` extension asks for the events after
 * the last one received, so the queue simply continues.
 */

import type { Connection } from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { replayIdOf } from './event-mapping.ts';
import type { EventsLogger } from './events-logger.ts';

/** The Bayeux messages the extensions see (faye ships no types; jsforce's cover too little). */
interface BayeuxMessage {
  channel: string;
  successful?: boolean;
  error?: string;
  advice?: { reconnect?: string; interval?: number; timeout?: number };
  ext?: Record<string, unknown>;
}

/** The part of faye's `Client` a session uses. */
interface StreamingClient {
  /** Settles when the server acknowledges (or refuses) `/meta/subscribe`. */
  subscribe(channel: string, listener: (data: unknown) => void): PromiseLike<unknown>;
  /** Undefined unless connected; settles when the server answers `/meta/disconnect`. */
  disconnect(): PromiseLike<unknown> | undefined;
}

export type SessionEnd =
  | { kind: 'stopped' }
  | { kind: 'auth-failed'; message: string }
  | { kind: 'replay-refused'; replayId: number; message: string }
  | { kind: 'subscribe-failed'; message: string }
  | { kind: 'processing-failed'; replayId: number; error: unknown };

export interface StreamingSessionOptions {
  connection: Connection;
  channel: string;
  /** A stored replay id, -1 (new events only) or -2 (all retained). */
  replayFrom: number;
  /** Handles one event; a throw ends the session (`processing-failed`). */
  process: (message: unknown, replayId: number) => Promise<void>;
  /** Called when the server acknowledges the subscription. */
  onSubscribed?: () => void;
  logger: EventsLogger;
  /** Log fields added to every line (org, channel). */
  logContext?: Record<string, unknown>;
  /** How long `close()` waits for the server to answer `/meta/disconnect`. Default 2,000 ms. */
  disconnectTimeoutMs?: number;
}

/** The replay error Salesforce sends when it no longer retains (or never had) the requested id. */
const REPLAY_REFUSED = /^400::The replayId \{[^}]*\} you provided was invalid/;
const AUTH_FAILED = /^40[13]::(Authentication invalid|Request requires authentication|Handshake denied)/;

export class StreamingSession {
  /** Settles once, with why the session ended. */
  readonly ended: Promise<SessionEnd>;
  readonly #o: StreamingSessionOptions;
  readonly #log: Record<string, unknown>;
  #resolveEnded!: (end: SessionEnd) => void;
  #client: StreamingClient | undefined;
  #over = false;
  #queue: { message: unknown; replayId: number }[] = [];
  #draining = false;
  #drain: Promise<void> = Promise.resolve();
  /** The highest replay id taken from the wire, to drop anything delivered twice. */
  #lastReceived: number | undefined;
  #handshakes = 0;

  constructor(options: StreamingSessionOptions) {
    this.#o = options;
    this.#log = { ...options.logContext };
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  get over(): boolean {
    return this.#over;
  }

  /** Builds the client and subscribes; the outcome arrives through `ended` and `onSubscribed`. */
  open(): void {
    const { channel, replayFrom } = this.#o;
    const observer = {
      incoming: (message: BayeuxMessage, callback: (message: BayeuxMessage) => void) => {
        this.#observe(message);
        callback(message);
      },
      // An ended session's client must never talk again (a retrying handshake would resubscribe
      // and hold a streaming client at Salesforce): only its disconnect goes out.
      outgoing: (message: BayeuxMessage, callback: (message: BayeuxMessage) => void) => {
        if (!this.#over || message.channel === '/meta/disconnect') callback(message);
      },
    };
    const authFailure = new StreamingExtension.AuthFailure((message: BayeuxMessage) =>
      this.end({ kind: 'auth-failed', message: failureText(message) }),
    );
    const replay = new StreamingExtension.Replay(channel, replayFrom);
    const client = this.#o.connection.streaming.createClient([
      observer,
      authFailure,
      replay,
    ]) as unknown as StreamingClient;
    this.#client = client;
    const subscription = client.subscribe(channel, (data) => this.#receive(data));
    subscription.then(
      () => {
        if (!this.#over) this.#o.onSubscribed?.();
      },
      (error: unknown) => this.end(this.#subscribeFailure(errorText(error))),
    );
  }

  /** Ends the session (the first reason wins); events not yet started are dropped, not processed. */
  end(reason: SessionEnd): void {
    if (this.#over) return;
    this.#over = true;
    this.#queue = [];
    this.#resolveEnded(reason);
  }

  /** Ends the session, waits for the event in progress to finish, and disconnects the client. */
  async close(): Promise<void> {
    this.end({ kind: 'stopped' });
    await this.#drain;
    const client = this.#client;
    this.#client = undefined;
    const done = client?.disconnect();
    if (!done) return;
    // A disconnect that hangs must not hold shutdown; whatever it ends with, the session is over.
    await raceAbort(Promise.resolve(done), { timeoutMs: this.#o.disconnectTimeoutMs ?? 2_000 }).catch(() => {});
  }

  #observe(message: BayeuxMessage): void {
    if (message.channel === '/meta/handshake' && message.successful) {
      this.#handshakes += 1;
      if (this.#handshakes > 1) {
        this.#o.logger.warn(
          { ...this.#log, resumeAfter: this.#lastReceived ?? this.#o.replayFrom },
          'Salesforce streaming: the server forgot the client; faye re-handshook and resubscribes after the last event received',
        );
      }
    } else if (message.channel === '/meta/subscribe' && message.successful === false) {
      // The first subscription's refusal also rejects its thenable; a resubscription after a
      // re-handshake is only seen here.
      this.end(this.#subscribeFailure(message.error ?? 'subscription refused'));
    } else if (message.channel === '/meta/connect' && message.successful === false) {
      this.#o.logger.debug(
        { ...this.#log, error: message.error, advice: message.advice },
        'Salesforce streaming: connect refused',
      );
    }
  }

  #subscribeFailure(text: string): SessionEnd {
    if (REPLAY_REFUSED.test(text))
      return { kind: 'replay-refused', replayId: this.#currentReplayFrom(), message: text };
    if (AUTH_FAILED.test(text)) return { kind: 'auth-failed', message: text };
    return { kind: 'subscribe-failed', message: text };
  }

  /** What the client last asked to replay from: the session's start, or the last event received. */
  #currentReplayFrom(): number {
    return this.#lastReceived ?? this.#o.replayFrom;
  }

  #receive(data: unknown): void {
    if (this.#over) return;
    const replayId = replayIdOf(data);
    if (replayId === undefined) {
      this.#o.logger.error({ ...this.#log, data }, 'Salesforce streaming: an event without a replay id was dropped');
      return;
    }
    if (this.#lastReceived !== undefined && replayId <= this.#lastReceived) {
      this.#o.logger.debug({ ...this.#log, replayId }, 'Salesforce streaming: dropped an event delivered twice');
      return;
    }
    this.#lastReceived = replayId;
    this.#queue.push({ message: data, replayId });
    if (!this.#draining) this.#drain = this.#drainQueue();
  }

  async #drainQueue(): Promise<void> {
    this.#draining = true;
    try {
      for (let next = this.#queue.shift(); next && !this.#over; next = this.#queue.shift()) {
        try {
          await this.#o.process(next.message, next.replayId);
        } catch (error) {
          this.end({ kind: 'processing-failed', replayId: next.replayId, error });
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

function failureText(message: BayeuxMessage): string {
  const reason = (message.ext?.sfdc as { failureReason?: string } | undefined)?.failureReason;
  return [message.error, reason].filter(Boolean).join(' / ') || `${message.channel} refused`;
}

function errorText(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) return String(error.message);
  return String(error);
}

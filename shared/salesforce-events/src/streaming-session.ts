import { raceAbort } from '@mcp-broker/resilience';
/**
 * One jsforce streaming client for one channel, from subscribe to its end: it subscribes from a
 * replay position, hands delivered events to `process` (at most `concurrency` at once, started in
 * replay order), reports each to `commit` strictly in replay order once it and every event before
 * it are handled, and ends with the first reason it meets (auth failure, refused replay id,
 * refused subscription, a processing failure, an overflow, or `end()` from outside). A session is
 * never reused: the `ChannelSubscriber` builds a new one (a new client, with the current token)
 * after each end.
 *
 * Flow control. The session holds at most `highWaterMark` events (received and not yet
 * committed). Bayeux long-polling delivers only in answer to a `/meta/connect`, so holding the
 * next connect back holds the server back: the session sends it only while the next answer fits
 * (what it holds plus the largest answer seen so far stays under the mark), and once paused
 * asks again when it is down to the low-water mark. An answer larger than the room left is
 * taken up to the mark; the rest is dropped before jsforce's `Replay` extension sees it, and the
 * session ends (`overflow`) once what it kept is committed, so the next one replays from there.
 *
 * Left to faye: a server that forgot the client (`403::Unknown client`, advice `handshake`; also
 * what a connect held back longer than the server waits leads to). faye re-handshakes and
 * resubscribes, and jsforce's `Replay` extension asks for the events after the last one
 * received, so the queue simply continues.
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
  | { kind: 'processing-failed'; replayId: number; error: unknown }
  /** An answer brought more than the high-water mark left room for; what was kept is committed. */
  | { kind: 'overflow'; dropped: number };

export interface StreamingSessionOptions {
  connection: Connection;
  channel: string;
  /** A stored replay id, -1 (new events only) or -2 (all retained). */
  replayFrom: number;
  /** Handles one event; a throw ends the session (`processing-failed`). Up to `concurrency` run at once. */
  process: (message: unknown, replayId: number) => Promise<void>;
  /**
   * Called in replay order, one at a time, for each event handled once every event before it
   * is (never for one that failed, nor for any after it); a throw ends the session.
   */
  commit: (replayId: number) => Promise<void> | void;
  /** Events processed at once. Default 1. */
  concurrency?: number;
  /** Most events held (received, not yet committed). Default 1,000. */
  highWaterMark?: number;
  /** Where a paused session asks for more. Default half the high-water mark. */
  lowWaterMark?: number;
  /** The largest long-poll answer (in events) a previous session saw, so the first one fits too. */
  largestAnswer?: number;
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
  readonly #concurrency: number;
  readonly #highWaterMark: number;
  readonly #lowWaterMark: number;
  /** Received, not started. */
  #queue: { message: unknown; replayId: number }[] = [];
  /** Started and not yet committed, in replay order. */
  #window: { replayId: number; state: 'running' | 'done' | 'failed' }[] = [];
  #running = 0;
  /** Everything started, and the commits: close() waits for them. */
  readonly #inFlight = new Set<Promise<void>>();
  #committing = false;
  /** Received and not yet committed (or dropped at the end). */
  #held = 0;
  #peakHeld = 0;
  #paused = false;
  /** The `/meta/connect` held back while paused, sent when the session resumes. */
  #heldConnect: (() => void) | undefined;
  /** Events of this channel received since the last connect answer, and the largest such answer. */
  #sinceAnswer = 0;
  #largestAnswer: number;
  #dropped = 0;
  /** The highest replay id taken from the wire, to drop anything delivered twice. */
  #lastReceived: number | undefined;
  #handshakes = 0;

  constructor(options: StreamingSessionOptions) {
    this.#o = options;
    this.#log = { ...options.logContext };
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
    this.#highWaterMark = Math.max(1, options.highWaterMark ?? 1000);
    this.#lowWaterMark = Math.min(
      this.#highWaterMark - 1,
      Math.max(0, options.lowWaterMark ?? Math.floor(this.#highWaterMark / 2)),
    );
    this.#largestAnswer = options.largestAnswer ?? 0;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  get over(): boolean {
    return this.#over;
  }

  /** Events held now (received, not yet committed). */
  get held(): number {
    return this.#held;
  }

  /** The most events held at once. */
  get peakHeld(): number {
    return this.#peakHeld;
  }

  /** The largest long-poll answer seen (in this channel's events), for the next session. */
  get largestAnswer(): number {
    return this.#largestAnswer;
  }

  /** Builds the client and subscribes; the outcome arrives through `ended` and `onSubscribed`. */
  open(): void {
    const { channel, replayFrom } = this.#o;
    const observer = {
      // First in the chain: an event dropped here never reaches the Replay extension, which
      // therefore still asks for it when faye resubscribes.
      incoming: (message: BayeuxMessage, callback: (message: BayeuxMessage) => void) => {
        this.#observe(message);
        if (message.channel === channel && !this.#admit()) return;
        callback(message);
      },
      // An ended session's client must never talk again (a retrying handshake would resubscribe
      // and hold a streaming client at Salesforce): only its disconnect goes out.
      outgoing: (message: BayeuxMessage, callback: (message: BayeuxMessage) => void) => {
        if (this.#over && message.channel !== '/meta/disconnect') return;
        if (message.channel === '/meta/connect' && this.#holdConnect()) {
          this.#heldConnect = () => callback(message);
          return;
        }
        callback(message);
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
    this.#held -= this.#queue.length;
    this.#queue = [];
    this.#heldConnect = undefined;
    this.#resolveEnded(reason);
  }

  /** Ends the session, waits for the events in progress (and their commits), and disconnects the client. */
  async close(): Promise<void> {
    this.end({ kind: 'stopped' });
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
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
    } else if (message.channel === '/meta/connect') {
      // The connect answer comes first in its response; the events it carries follow.
      this.#sinceAnswer = 0;
      if (message.successful === false) {
        this.#o.logger.debug(
          { ...this.#log, error: message.error, advice: message.advice },
          'Salesforce streaming: connect refused',
        );
      }
    }
  }

  /**
   * Whether an event just arrived is kept (and counted as held from here): false once the
   * high-water mark is reached, and from then on (the session overflows).
   */
  #admit(): boolean {
    if (this.#over) return true;
    this.#sinceAnswer += 1;
    this.#largestAnswer = Math.max(this.#largestAnswer, this.#sinceAnswer);
    if (this.#dropped === 0 && this.#held < this.#highWaterMark) {
      this.#held += 1;
      this.#peakHeld = Math.max(this.#peakHeld, this.#held);
      return true;
    }
    if (this.#dropped === 0) {
      this.#o.logger.warn(
        { ...this.#log, highWaterMark: this.#highWaterMark, largestAnswer: this.#largestAnswer },
        'Salesforce streaming: an answer brought more events than the high-water mark leaves room for; ' +
          'the rest is replayed by the next session (a higher highWaterMark avoids this)',
      );
    }
    this.#dropped += 1;
    this.#paused = true;
    return false;
  }

  /** Whether the next connect waits: what is held plus the largest answer seen would pass the mark. */
  #holdConnect(): boolean {
    if (this.#dropped > 0) return true;
    // Holding nothing, it always asks (an answer bigger than the mark is then taken up to it).
    if (this.#held === 0) this.#paused = false;
    else if (!this.#paused && this.#held + Math.max(1, this.#largestAnswer) > this.#highWaterMark) this.#paused = true;
    return this.#paused;
  }

  /** After a commit: resume below the low-water mark (and where the next answer fits), or end an overflowed session once drained. */
  #maybeResume(): void {
    if (this.#over || !this.#paused) return;
    if (this.#dropped > 0) {
      if (this.#held === 0) this.end({ kind: 'overflow', dropped: this.#dropped });
      return;
    }
    const resumeAt = Math.max(0, Math.min(this.#lowWaterMark, this.#highWaterMark - Math.max(1, this.#largestAnswer)));
    if (this.#held > resumeAt) return;
    this.#paused = false;
    const send = this.#heldConnect;
    this.#heldConnect = undefined;
    send?.();
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

  /** An event admitted (already counted as held) reaches the subscription's listener. */
  #receive(data: unknown): void {
    if (this.#over) return;
    const replayId = replayIdOf(data);
    if (replayId === undefined) {
      this.#held -= 1;
      this.#o.logger.error({ ...this.#log, data }, 'Salesforce streaming: an event without a replay id was dropped');
      return;
    }
    if (this.#lastReceived !== undefined && replayId <= this.#lastReceived) {
      this.#held -= 1;
      this.#o.logger.debug({ ...this.#log, replayId }, 'Salesforce streaming: dropped an event delivered twice');
      this.#maybeResume();
      return;
    }
    this.#lastReceived = replayId;
    this.#queue.push({ message: data, replayId });
    this.#pump();
  }

  /** Starts queued events while fewer than `concurrency` run. */
  #pump(): void {
    while (!this.#over && this.#running < this.#concurrency) {
      const next = this.#queue.shift();
      if (!next) return;
      const entry = { replayId: next.replayId, state: 'running' as 'running' | 'done' | 'failed' };
      this.#window.push(entry);
      this.#running += 1;
      this.#track(this.#handle(next.message, entry));
    }
  }

  async #handle(message: unknown, entry: { replayId: number; state: 'running' | 'done' | 'failed' }): Promise<void> {
    try {
      await this.#o.process(message, entry.replayId);
      entry.state = 'done';
    } catch (error) {
      entry.state = 'failed';
      this.end({ kind: 'processing-failed', replayId: entry.replayId, error });
    } finally {
      this.#running -= 1;
    }
    if (!this.#committing) this.#track(this.#commitDone());
    this.#pump();
  }

  /** Commits the handled prefix of the window, in order; stops at an event still running or failed. */
  async #commitDone(): Promise<void> {
    this.#committing = true;
    try {
      for (let head = this.#window[0]; head?.state === 'done'; head = this.#window[0]) {
        this.#window.shift();
        try {
          await this.#o.commit(head.replayId);
        } catch (error) {
          this.end({ kind: 'processing-failed', replayId: head.replayId, error });
          return;
        } finally {
          this.#held -= 1;
        }
        this.#maybeResume();
      }
    } finally {
      this.#committing = false;
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
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

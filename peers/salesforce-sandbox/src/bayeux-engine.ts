/**
 * A faye engine (the pluggable back end behind faye's Bayeux server, `engine.type`) that keeps
 * one message queue per client, so a subscription can start with that client's own replay
 * backlog before the live events: faye's memory engine only fans every publish out to all.
 * Everything here runs synchronously, so a backlog and a concurrent publish cannot interleave.
 *
 * A long-poll answer carries at most `maxEventsPerResponse` events; the rest wait in the client's
 * queue for its next `/meta/connect`. A client that holds back its next connect therefore holds
 * the server back: that is the only flow control Bayeux long-polling has.
 */

import { randomBytes } from 'node:crypto';
import type { EngineFactory } from './faye-types.ts';

/** The faye engine proxy an engine is created with (faye's engines/proxy.js). */
interface EngineProxy {
  timeout: number;
  hasConnection(clientId: string): boolean;
  deliver(clientId: string, messages: unknown[]): boolean;
  flushConnection(clientId: string, close?: boolean): void;
  trigger(event: string, ...args: unknown[]): void;
}

interface ClientState {
  channels: Set<string>;
  queue: unknown[];
  expiry?: NodeJS.Timeout;
}

type Callback = ((this: unknown, ...args: unknown[]) => void) | undefined;

/** Where a new subscription's backlog comes from: the events to deliver before live ones. */
export type BacklogSource = (clientId: string, channel: string) => unknown[];

export class ReplayingEngine {
  private readonly proxy: EngineProxy;
  private readonly backlog: BacklogSource;
  private readonly maxEventsPerResponse: number;
  private readonly clients = new Map<string, ClientState>();

  constructor(proxy: EngineProxy, backlog: BacklogSource, maxEventsPerResponse = Number.POSITIVE_INFINITY) {
    this.proxy = proxy;
    this.backlog = backlog;
    this.maxEventsPerResponse = maxEventsPerResponse;
  }

  /** The `engine.type` to hand faye; `onCreate` receives the engine faye builds. */
  static factory(
    backlog: BacklogSource,
    onCreate: (engine: ReplayingEngine) => void,
    maxEventsPerResponse?: number,
  ): EngineFactory {
    return {
      create(proxy: unknown) {
        const engine = new ReplayingEngine(proxy as EngineProxy, backlog, maxEventsPerResponse);
        onCreate(engine);
        return engine;
      },
    };
  }

  // ---- the faye engine interface ----

  createClient(callback: Callback, context?: unknown): void {
    const clientId = BigInt(`0x${randomBytes(17).toString('hex')}`).toString(36);
    this.clients.set(clientId, { channels: new Set(), queue: [] });
    this.ping(clientId);
    this.proxy.trigger('handshake', clientId);
    callback?.call(context, clientId);
  }

  clientExists(clientId: string, callback: Callback, context?: unknown): void {
    callback?.call(context, this.clients.has(clientId));
  }

  destroyClient(clientId: string, callback?: Callback, context?: unknown): void {
    const state = this.clients.get(clientId);
    if (!state) return;
    clearTimeout(state.expiry);
    this.clients.delete(clientId);
    this.proxy.trigger('disconnect', clientId);
    this.proxy.trigger('close', clientId);
    callback?.call(context);
  }

  /** A client that sends nothing for twice the long-poll timeout is forgotten, as faye does. */
  ping(clientId: string): void {
    const state = this.clients.get(clientId);
    if (!state) return;
    clearTimeout(state.expiry);
    state.expiry = setTimeout(() => this.destroyClient(clientId), 2 * this.proxy.timeout * 1000);
    state.expiry.unref();
  }

  subscribe(clientId: string, channel: string, callback?: Callback, context?: unknown): void {
    const state = this.clients.get(clientId);
    if (state && !state.channels.has(channel)) {
      state.channels.add(channel);
      for (const message of this.backlog(clientId, channel)) state.queue.push(structuredClone(message));
      this.proxy.trigger('subscribe', clientId, channel);
      this.emptyQueue(clientId);
    }
    callback?.call(context, true);
  }

  unsubscribe(clientId: string, channel: string, callback?: Callback, context?: unknown): void {
    const state = this.clients.get(clientId);
    if (state?.channels.delete(channel)) this.proxy.trigger('unsubscribe', clientId, channel);
    callback?.call(context, true);
  }

  publish(message: { channel: string }, channels: string[]): void {
    for (const [clientId, state] of this.clients) {
      if (!channels.some((channel) => state.channels.has(channel))) continue;
      state.queue.push(structuredClone(message));
      this.emptyQueue(clientId);
    }
    this.proxy.trigger('publish', undefined, message.channel, message);
  }

  emptyQueue(clientId: string): void {
    const state = this.clients.get(clientId);
    if (!state || state.queue.length === 0 || !this.proxy.hasConnection(clientId)) return;
    const messages = state.queue.splice(0, this.maxEventsPerResponse);
    this.proxy.deliver(clientId, messages);
    // A full answer goes now: the connection closes, and the rest waits for the client's next connect.
    if (state.queue.length > 0) this.proxy.flushConnection(clientId);
  }

  disconnect(): void {
    for (const state of this.clients.values()) clearTimeout(state.expiry);
    this.clients.clear();
  }

  // ---- sandbox controls ----

  /** Answers every pending long poll now (empty), so each client's next message comes at once. */
  flushAll(): void {
    for (const clientId of this.clients.keys()) this.proxy.flushConnection(clientId);
  }

  /** Forgets every client, as a Salesforce server that lost its Bayeux sessions does. */
  destroyAll(): void {
    for (const clientId of [...this.clients.keys()]) this.destroyClient(clientId);
  }

  knows(clientId: string): boolean {
    return this.clients.has(clientId);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Events queued for clients and not yet sent (held back by clients that have not connected again). */
  get queuedEvents(): number {
    let queued = 0;
    for (const state of this.clients.values()) queued += state.queue.length;
    return queued;
  }
}

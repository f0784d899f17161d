/**
 * Types for the parts of `faye` (1.4, which ships none) that the sandbox's Bayeux server and the
 * tests use. A plain module rather than `declare module 'faye'`: jsforce ships its own ambient
 * declaration of 'faye', and two of them clash in every package that compiles both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
/** A Bayeux message (request, response or event). */
export interface Message {
  channel: string;
  id?: string;
  clientId?: string;
  successful?: boolean;
  error?: string;
  advice?: { reconnect?: 'retry' | 'handshake' | 'none'; interval?: number; timeout?: number };
  ext?: Record<string, unknown>;
  data?: unknown;
  subscription?: string | string[];
  supportedConnectionTypes?: string[];
  connectionType?: string;
  version?: string;
  minimumVersion?: string;
}

export interface ClientExtension {
  incoming?(message: Message, callback: (message: Message) => void): void;
  outgoing?(message: Message, callback: (message: Message) => void): void;
}

export interface ServerExtension {
  incoming?(message: Message, request: IncomingMessage | null, callback: (message: Message) => void): void;
  outgoing?(message: Message, request: IncomingMessage | null, callback: (message: Message) => void): void;
}

/** The rejection of a refused subscription: faye parses `code:params:message`, else code is null. */
export interface BayeuxError {
  code: number | null;
  params: string[];
  message: string;
}

/** A subscription, thenable: settles when the server acknowledges or refuses `/meta/subscribe`. */
export interface Subscription extends PromiseLike<undefined> {
  cancel(): void;
}

export interface Client {
  subscribe<T = unknown>(channel: string, callback: (message: T) => void): Subscription;
  unsubscribe(channel: string, subscription?: Subscription): void;
  /** Undefined unless connected; settles when the server answers `/meta/disconnect`. */
  disconnect(): PromiseLike<undefined> | undefined;
  addExtension(extension: ClientExtension): void;
  setHeader(name: string, value: string): void;
}

/** What a faye engine is created from (`engine.type`); see faye's engines/proxy.js. */
export interface EngineFactory {
  create(proxy: unknown, options: unknown): unknown;
}

export interface NodeAdapter {
  addExtension(extension: ServerExtension): void;
  check(request: IncomingMessage): boolean;
  handle(request: IncomingMessage, response: ServerResponse): void;
  close(): void;
}

/** The parts of the `faye` module the sandbox uses. */
export interface FayeModule {
  Client: new (endpoint: string, options?: { timeout?: number; retry?: number; interval?: number }) => Client;
  NodeAdapter: new (options: { mount: string; timeout?: number; engine?: { type: EngineFactory } }) => NodeAdapter;
}

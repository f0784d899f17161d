/**
 * Types for the parts of `faye` (1.4, which ships none) that the sandbox's Bayeux server and the
 * tests use. jsforce's streaming types import `Client` and `Subscription` from here too.
 */
declare module 'faye' {
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

  export class Client {
    constructor(endpoint: string, options?: { timeout?: number; retry?: number; interval?: number });
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

  export class NodeAdapter {
    constructor(options: { mount: string; timeout?: number; engine?: { type: EngineFactory } });
    addExtension(extension: ServerExtension): void;
    check(request: IncomingMessage): boolean;
    handle(request: IncomingMessage, response: ServerResponse): void;
    close(): void;
  }

  const faye: { Client: typeof Client; NodeAdapter: typeof NodeAdapter };
  export default faye;
}

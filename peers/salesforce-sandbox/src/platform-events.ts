/**
 * Streaming API for platform events: a real Bayeux server (faye's) mounted at
 * `/cometd/<apiVersion>`, long-polling only, with Salesforce's durable replay extension and the
 * answers Salesforce gives its CometD clients:
 *
 * - handshake: `ext: { replay: true, "payload.format": true }`, connection types `["long-polling"]`;
 * - subscribe: `ext.replay = { "<channel>": replayId }` with `-1` (new events), `-2` (all retained)
 *   or a retained event's id; any other id is refused with `400::The replayId {id} you provided
 *   was invalid. ...`; an unknown channel with `400::The channel you requested to subscribe to
 *   does not exist {channel}`;
 * - every message is authenticated by its `Authorization` header: an invalid session answers
 *   `401::Authentication invalid` with advice `reconnect: none` on `/meta/connect`, and
 *   `403::Handshake denied` with `ext.sfdc.failureReason` on `/meta/handshake`;
 * - a client the server no longer knows gets `403::Unknown client` with advice `reconnect: handshake`.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { ReplayingEngine } from './bayeux-engine.ts';
import { type DeliveredEvent, EventBus, REPLAY_NEW_EVENTS, type RetentionOptions } from './event-bus.ts';
import type { FaultInjector } from './fault-injection.ts';
import type { FayeModule, Message, NodeAdapter } from './faye-types.ts';
import type { SessionStore } from './session-store.ts';
import type { SObjectSchema } from './sobject-schema.ts';
import type { PendingEvent } from './sobject-store.ts';

export interface PlatformEventsOptions {
  apiVersion: string;
  schema: SObjectSchema;
  sessions: SessionStore;
  faults: FaultInjector;
  now: () => Date;
  retention?: RetentionOptions;
  /** How long a `/meta/connect` long poll is held when there is nothing to deliver. */
  longPollTimeoutMs: number;
  /** Most events in one long-poll answer; the rest wait for the client's next connect. Default no limit. */
  maxEventsPerResponse?: number;
}

export const AUTHENTICATION_INVALID = '401::Authentication invalid';
export const AUTHENTICATION_REQUIRED = '401::Request requires authentication';
export const HANDSHAKE_DENIED = '403::Handshake denied';
export const UNKNOWN_CLIENT = '403::Unknown client';

export const invalidReplayIdError = (replayId: unknown) =>
  `400::The replayId {${String(replayId)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`;

export const unknownChannelError = (channel: string) =>
  `400::The channel you requested to subscribe to does not exist {${channel}}`;

// faye is CommonJS and ships no types: loaded with require, typed by faye-types.ts.
const faye = createRequire(import.meta.url)('faye') as FayeModule;

const META_WITH_CLIENT = new Set(['/meta/connect', '/meta/subscribe', '/meta/unsubscribe', '/meta/disconnect']);

export class PlatformEvents {
  readonly mountPath: string;
  readonly bus: EventBus;
  private readonly adapter: NodeAdapter;
  private engine: ReplayingEngine | undefined;
  private readonly sessions: SessionStore;
  private readonly faults: FaultInjector;
  /** Replay positions validated by the incoming extension, taken by the engine on subscribe. */
  private readonly replayStarts = new Map<string, number>();
  /** Requests whose messages failed authentication, and why. */
  private readonly authFailures = new WeakMap<IncomingMessage, string>();

  constructor(options: PlatformEventsOptions) {
    this.mountPath = `/cometd/${options.apiVersion}`;
    this.sessions = options.sessions;
    this.faults = options.faults;
    this.bus = new EventBus({ schema: options.schema, now: options.now, retention: options.retention });
    this.adapter = new faye.NodeAdapter({
      mount: this.mountPath,
      timeout: options.longPollTimeoutMs / 1000,
      engine: {
        type: ReplayingEngine.factory(
          (clientId, channel) => this.backlog(clientId, channel),
          (engine) => {
            this.engine = engine;
          },
          options.maxEventsPerResponse,
        ),
      },
    });
    this.adapter.addExtension({
      incoming: (message, request, callback) => callback(this.incoming(message, request)),
      outgoing: (message, request, callback) => callback(this.outgoing(message, request)),
    });
    this.bus.onPublish((event) => this.engine?.publish(event, [event.channel]));
  }

  handles(request: IncomingMessage): boolean {
    return this.adapter.check(request);
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    this.adapter.handle(request, response);
  }

  publish(event: PendingEvent): DeliveredEvent {
    return this.bus.publish(event);
  }

  /** After sessions expire: answer the pending long polls so each client's next message is checked. */
  flushConnections(): void {
    this.engine?.flushAll();
  }

  dropClients(): void {
    this.engine?.destroyAll();
  }

  get clientCount(): number {
    return this.engine?.clientCount ?? 0;
  }

  /** Events waiting on the server for a client's next `/meta/connect`. */
  get queuedEvents(): number {
    return this.engine?.queuedEvents ?? 0;
  }

  close(): void {
    this.adapter.close();
  }

  private backlog(clientId: string, channel: string): DeliveredEvent[] {
    const key = `${clientId} ${channel}`;
    const start = this.replayStarts.get(key) ?? REPLAY_NEW_EVENTS;
    this.replayStarts.delete(key);
    return this.bus.replayFrom(channel, start) ?? [];
  }

  private incoming(message: Message, request: IncomingMessage | null): Message {
    if (request === null) return message;
    const header = request.headers.authorization;
    if (!this.sessions.fromAuthorization(header)) {
      const reason = header ? AUTHENTICATION_INVALID : AUTHENTICATION_REQUIRED;
      this.authFailures.set(request, reason);
      message.error = message.channel === '/meta/handshake' ? HANDSHAKE_DENIED : reason;
      return message;
    }
    if (message.channel === '/meta/connect' && message.connectionType !== 'long-polling') {
      message.error = `400::Invalid connection type ${String(message.connectionType)}`;
      return message;
    }
    if (message.channel === '/meta/subscribe') {
      this.checkSubscription(message);
      return message;
    }
    if (!message.channel.startsWith('/meta/')) message.error = `403:${message.channel}:Forbidden channel`;
    return message;
  }

  private checkSubscription(message: Message): void {
    const channels = message.subscription === undefined ? [] : [message.subscription].flat();
    const replay = (message.ext?.replay ?? {}) as Record<string, unknown>;
    for (const channel of channels) {
      if (!this.bus.hasChannel(channel)) {
        message.error = unknownChannelError(channel);
        return;
      }
      const requested = replay[channel];
      const start = requested === undefined || requested === null ? REPLAY_NEW_EVENTS : Number(requested);
      const special = start === REPLAY_NEW_EVENTS || start === -2;
      const refused = !special && (this.faults.takeReplayRefusal(channel) || !Number.isInteger(start));
      if (refused || this.bus.replayFrom(channel, start) === undefined) {
        message.error = invalidReplayIdError(requested);
        return;
      }
      if (message.clientId && this.engine?.knows(message.clientId)) {
        this.replayStarts.set(`${message.clientId} ${channel}`, start);
      }
    }
  }

  private outgoing(message: Message, request: IncomingMessage | null): Message {
    const authFailure = request ? this.authFailures.get(request) : undefined;
    if (message.channel === '/meta/handshake') {
      if (message.successful) {
        message.ext = { replay: true, 'payload.format': true };
        message.supportedConnectionTypes = ['long-polling'];
        message.minimumVersion = '1.0';
      } else if (authFailure && message.error === HANDSHAKE_DENIED) {
        message.ext = { sfdc: { failureReason: authFailure }, replay: true, 'payload.format': true };
        message.advice = { reconnect: 'none' };
        delete message.supportedConnectionTypes;
        delete message.version;
      }
      return message;
    }
    if (!META_WITH_CLIENT.has(message.channel) || message.successful !== false) return message;
    if (authFailure && message.error === authFailure) {
      message.advice = { reconnect: 'none', interval: 0 };
    } else if (message.error && /^401:[^:]*:Unknown client$/.test(message.error)) {
      // faye says `401:<clientId>:Unknown client`; Salesforce says this.
      message.error = UNKNOWN_CLIENT;
      message.advice = { reconnect: 'handshake', interval: 0 };
    }
    return message;
  }
}

/**
 * An in-process Azure Service Bus namespace on AMQP 1.0 (rhea), for tests through the real
 * `@azure/service-bus` SDK. Connect with `peer.connectionString()` (`UseDevelopmentEmulator=true`
 * makes the SDK use plain TCP on the given port, as it does for the emulator).
 *
 * What it checks and does as the service does:
 *
 * - SASL ANONYMOUS, then claims-based security on `$cbs`: a `put-token` with a SAS token is
 *   checked against the namespace's policies (signature, expiry, key name) and answered 202, or
 *   401 with the service's description. A link to an entity is refused (`amqp:unauthorized-access`)
 *   unless a valid claim on the connection covers the entity and grants `Send` or `Listen`.
 * - Queues and topics with subscriptions (a subscription may filter); sending to an unknown entity
 *   is `amqp:not-found`. Sends over the link's `max_message_size` are refused
 *   (`amqp:link:message-size-exceeded`); duplicate detection drops a repeated messageId.
 * - Peek-lock delivery with a lock token as the delivery tag, `x-opt-locked-until`,
 *   `x-opt-sequence-number`, `x-opt-enqueued-time` and the delivery count; settlement by
 *   disposition (accepted = complete, modified = abandon, rejected `com.microsoft:dead-letter` =
 *   dead-letter with `DeadLetterReason` / `DeadLetterErrorDescription`), a disposition for an
 *   expired lock answered `com.microsoft:message-lock-lost`; receive-and-delete.
 * - `$management`: `com.microsoft:renew-lock` and `com.microsoft:update-disposition`.
 * - Sessions (`requiresSession`): a receiver with a `com.microsoft:session-filter` locks the asked
 *   session or the one with the oldest message, learns it from the attach (filter and
 *   `com.microsoft:locked-until-utc`), gets only its messages in order; `renew-session-lock`;
 *   a session lock that expires or a receiver that goes releases the session's locked messages.
 *
 * Faults for tests: `failSends` (the next sends to an entity are refused with a condition such as
 * `com.microsoft:server-busy`) and `dropConnections` (every socket destroyed).
 */

import type { AddressInfo, Server, Socket } from 'node:net';
import rhea, {
  type AmqpError,
  type Connection,
  type Container,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
} from 'rhea';
import { DuplicateWindow } from './duplicate-window.ts';
import { type EntitySettings, PeerEntity, type StoredMessage } from './peer-entity.ts';
import { checkSasToken, type SasPolicy, type SasRight } from './sas-token.ts';

export interface SubscriptionSettings extends EntitySettings {
  /** Which messages of the topic the subscription takes (the service's SQL/correlation rules). Default all. */
  filter?: (message: Message) => boolean;
}

export interface QueueSettings extends EntitySettings {
  /** Duplicate detection window on messageId; undefined = off. The service's default window is 10 minutes. */
  duplicateDetectionWindowMs?: number;
}

export interface TopicSettings {
  duplicateDetectionWindowMs?: number;
  subscriptions: Record<string, SubscriptionSettings>;
}

export interface ServiceBusPeerOptions {
  /** Shared access policies. Default one `RootManageSharedAccessKey` with a random key. */
  policies?: SasPolicy[];
  queues?: Record<string, QueueSettings>;
  topics?: Record<string, TopicSettings>;
  /** The links' `max_message_size`. Default 262,144 (the Standard tier's 256 KB). */
  maxMessageSizeBytes?: number;
  /** Default 0 (any free port). */
  port?: number;
}

/** A refusal the peer answers a send with instead of accepting it. */
export interface InjectedSendFailure {
  condition: string;
  description: string;
}

interface Claim {
  /** The lower-cased entity path the token's resource names ('' for the namespace). */
  path: string;
  rights: readonly SasRight[];
  expiresAt: number;
}

interface SendTarget {
  duplicates: DuplicateWindow;
  deliver(message: Message): void;
}

interface SessionLock {
  entity: PeerEntity;
  sessionId: string;
  sender: Sender;
  until: number;
  timer: NodeJS.Timeout;
}

interface ReceiveLink {
  sender: Sender;
  entity: PeerEntity;
  receiveAndDelete: boolean;
  /** A session receiver's session. */
  session?: SessionLock;
}

interface DescribedOutcome {
  described(): unknown;
}

/** rhea's message codec and outcomes, which its typings leave out. */
const codec = rhea.message as unknown as {
  accepted(): DescribedOutcome;
  rejected(fields: { error?: AmqpError }): DescribedOutcome;
  encode(message: Message): Buffer;
  decode(buffer: Buffer): Message;
};

const SESSION_FILTER = 'com.microsoft:session-filter';
const DEAD_LETTER_CONDITION = 'com.microsoft:dead-letter';
const MESSAGE_LOCK_LOST = 'com.microsoft:message-lock-lost';
const BATCH_FORMAT = 0x80013700;

export class ServiceBusPeer {
  readonly policies: readonly SasPolicy[];
  readonly maxMessageSizeBytes: number;
  /** What the peer saw, for assertions. */
  readonly stats = { putTokensAccepted: 0, putTokensRefused: 0, renewLocks: 0, sendsRefused: 0, duplicatesDropped: 0 };
  readonly #container: Container;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #entities = new Map<string, PeerEntity>();
  readonly #sendTargets = new Map<string, SendTarget>();
  readonly #claims = new WeakMap<Connection, Claim[]>();
  readonly #receiveLinks = new Set<ReceiveLink>();
  /** The lock token of each delivery sent in peek-lock. */
  readonly #deliveryLocks = new WeakMap<Delivery, { entity: PeerEntity; token: string }>();
  readonly #sendFailures = new Map<string, InjectedSendFailure[]>();
  /** Locked sessions by `<entity key>\n<session id>`. */
  readonly #sessions = new Map<string, SessionLock>();
  #sequence = 0;

  private constructor(options: ServiceBusPeerOptions, container: Container, server: Server) {
    this.policies = options.policies ?? [
      {
        name: 'RootManageSharedAccessKey',
        key: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64'),
      },
    ];
    this.maxMessageSizeBytes = options.maxMessageSizeBytes ?? 262_144;
    this.#container = container;
    this.#server = server;
    this.#defineEntities(options);
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.#wire();
  }

  /** Starts listening on 127.0.0.1. */
  static async start(options: ServiceBusPeerOptions = {}): Promise<ServiceBusPeer> {
    // Service Bus settles what it decides; nothing is accepted or released behind the peer's back.
    const container = rhea.create_container({ autoaccept: false, treat_modified_as_released: false });
    container.sasl_server_mechanisms.enable_anonymous();
    const server = container.listen({ port: options.port ?? 0, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new ServiceBusPeer(options, container, server);
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The namespace endpoint, `sb://127.0.0.1:<port>/`. */
  get endpoint(): string {
    return `sb://127.0.0.1:${this.port}/`;
  }

  /** A connection string for a policy (default the first); `key` overrides the policy's key (a wrong key). */
  connectionString(policyName?: string, key?: string): string {
    const policy = policyName ? this.policies.find((p) => p.name === policyName) : this.policies[0];
    if (!policy) throw new Error(`service-bus-peer: no policy ${policyName}`);
    return `Endpoint=${this.endpoint};SharedAccessKeyName=${policy.name};SharedAccessKey=${key ?? policy.key};UseDevelopmentEmulator=true`;
  }

  /** A queue, `topic/Subscriptions/name`, or either's `/$DeadLetterQueue`. */
  entity(path: string): PeerEntity {
    const entity = this.#entities.get(normalise(path));
    if (!entity) throw new Error(`service-bus-peer: no entity ${path}`);
    return entity;
  }

  /** Refuses the next `failures.length` sends to a queue or topic, one failure each, in order. */
  failSends(path: string, ...failures: InjectedSendFailure[]): void {
    const key = normalise(path);
    this.#sendFailures.set(key, [...(this.#sendFailures.get(key) ?? []), ...failures]);
  }

  /** Destroys every client socket (a network failure); locks stay until they expire, as on the service. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
    // The service sees the connections end: their receivers are gone and their sessions released
    // (peek-lock message locks stay until they expire).
    for (const link of this.#receiveLinks) {
      this.#receiveLinks.delete(link);
      if (link.session) this.#releaseSession(link.session);
    }
  }

  async close(): Promise<void> {
    this.dropConnections();
    for (const lock of this.#sessions.values()) clearTimeout(lock.timer);
    for (const entity of this.#entities.values()) entity.dispose();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #defineEntities(options: ServiceBusPeerOptions): void {
    const nextSequence = (): number => {
      this.#sequence += 1;
      return this.#sequence;
    };
    const add = (path: string, kind: 'queue' | 'subscription', settings: EntitySettings): PeerEntity => {
      const key = normalise(path);
      const entity: PeerEntity = new PeerEntity({
        path,
        kind,
        settings,
        nextSequence,
        onAvailable: () => this.#pumpEntity(key),
      });
      this.#entities.set(key, entity);
      const deadLetter = entity.deadLetter;
      if (deadLetter) this.#entities.set(normalise(deadLetter.path), deadLetter);
      return entity;
    };
    for (const [name, settings] of Object.entries(options.queues ?? {})) {
      const queue = add(name, 'queue', settings);
      this.#sendTargets.set(normalise(name), {
        duplicates: new DuplicateWindow(settings.duplicateDetectionWindowMs),
        deliver: (message) => queue.enqueue(message),
      });
    }
    for (const [topic, settings] of Object.entries(options.topics ?? {})) {
      const subscriptions = Object.entries(settings.subscriptions).map(([name, sub]) => ({
        entity: add(`${topic}/Subscriptions/${name}`, 'subscription', sub),
        filter: sub.filter,
      }));
      this.#sendTargets.set(normalise(topic), {
        duplicates: new DuplicateWindow(settings.duplicateDetectionWindowMs),
        deliver: (message) => {
          for (const sub of subscriptions) if (!sub.filter || sub.filter(message)) sub.entity.enqueue({ ...message });
        },
      });
    }
  }

  #wire(): void {
    const c = this.#container;
    c.on('receiver_open', (context: EventContext) => this.#onClientSender(context));
    c.on('sender_open', (context: EventContext) => this.#onClientReceiver(context));
    c.on('message', (context: EventContext) => this.#onMessage(context));
    c.on('sendable', (context: EventContext) => this.#pumpLink(context.sender));
    // A receiver draining its credit (the SDK does after each receiveMessages) is sent what is
    // available, then told the rest of its credit is used up, as the service does.
    c.on('sender_draining', (context: EventContext) => {
      this.#pumpLink(context.sender);
      context.sender?.set_drained(true);
    });
    for (const outcome of ['accepted', 'rejected', 'modified', 'released'] as const) {
      c.on(outcome, (context: EventContext) => this.#onSettlement(outcome, context));
    }
    const forget = (context: EventContext): void => {
      for (const link of this.#receiveLinks) {
        if (link.sender === context.sender || link.sender.connection === context.connection) {
          if (context.sender && link.sender !== context.sender) continue;
          this.#receiveLinks.delete(link);
          // A session receiver gone releases its session; its locked messages come again.
          if (link.session) this.#releaseSession(link.session);
        }
      }
    };
    c.on('sender_close', forget);
    c.on('connection_close', forget);
    c.on('disconnected', forget);
    // A client gone mid-frame is not the peer's failure.
    c.on('error', () => {});
    c.on('connection_error', () => {});
  }

  /** The client attached a sender: `$cbs`, `$management` or an entity it sends to. */
  #onClientSender(context: EventContext): void {
    const receiver = context.receiver as Receiver;
    const address = addressOf(receiver.target?.address);
    if (address === '$cbs' || address.endsWith('/$management')) return;
    if (!this.#sendTargets.has(address)) {
      receiver.close(notFound(address, this.endpoint));
      return;
    }
    if (!this.#authorised(context.connection, address, 'Send')) {
      receiver.close(unauthorised('Send'));
      return;
    }
    (receiver as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size =
      this.maxMessageSizeBytes;
  }

  /** The client attached a receiver: a reply link, or an entity it receives from. */
  #onClientReceiver(context: EventContext): void {
    const sender = context.sender as Sender;
    const address = addressOf(sender.source?.address);
    if (address === '$cbs' || address.endsWith('/$management')) return;
    const entity = this.#entities.get(address);
    if (!entity) {
      sender.close(notFound(address, this.endpoint));
      return;
    }
    if (!this.#authorised(context.connection, address, 'Listen')) {
      sender.close(unauthorised('Listen'));
      return;
    }
    const remote = (sender as unknown as { remote: { attach?: { snd_settle_mode?: number } } }).remote.attach;
    const link: ReceiveLink = { sender, entity, receiveAndDelete: remote?.snd_settle_mode === 1 };
    const filter = (sender.source as { filter?: Record<string, unknown> | null } | undefined)?.filter;
    const asksSession = filter !== undefined && filter !== null && SESSION_FILTER in filter;
    if (asksSession || entity.requiresSession) {
      const session = this.#acceptSession(
        sender,
        entity,
        asksSession ? filter[SESSION_FILTER] : undefined,
        asksSession,
      );
      if (!session) return;
      link.session = session;
    }
    this.#receiveLinks.add(link);
    this.#pumpLink(sender);
  }

  #onMessage(context: EventContext): void {
    const receiver = context.receiver as Receiver;
    const delivery = context.delivery as Delivery;
    const message = context.message as Message;
    const address = addressOf(receiver.target?.address);
    if (address === '$cbs') {
      this.#onPutToken(context.connection, message);
      delivery.update(true, codec.accepted().described());
      return;
    }
    if (address.endsWith('/$management')) {
      this.#onManagement(context.connection, address.slice(0, -'/$management'.length), message);
      delivery.update(true, codec.accepted().described());
      return;
    }
    const target = this.#sendTargets.get(address);
    if (!target) {
      delivery.update(true, codec.rejected({ error: notFound(address, this.endpoint) }).described());
      return;
    }
    const failures = this.#sendFailures.get(address);
    const failure = failures?.shift();
    if (failure) {
      this.stats.sendsRefused += 1;
      delivery.update(true, codec.rejected({ error: failure }).described());
      return;
    }
    // rhea decodes only format 0; a batch arrives as its encoded bytes.
    const raw = Buffer.isBuffer(message) ? message : undefined;
    const size = raw ? raw.length : codec.encode(message).length;
    if (size > this.maxMessageSizeBytes) {
      this.stats.sendsRefused += 1;
      delivery.update(
        true,
        codec
          .rejected({
            error: {
              condition: 'amqp:link:message-size-exceeded',
              description: `The received message (delivery-id:${delivery.id}, size:${size} bytes) exceeds the limit (${this.maxMessageSizeBytes} bytes) currently allowed on the link.`,
            },
          })
          .described(),
      );
      return;
    }
    const messages = raw && delivery.format === BATCH_FORMAT ? unbatch(codec.decode(raw)) : [message];
    for (const one of messages) {
      if (target.duplicates.seen(one.message_id)) {
        this.stats.duplicatesDropped += 1;
        continue;
      }
      target.deliver(asEnqueued(one));
    }
    delivery.update(true, codec.accepted().described());
  }

  #onPutToken(connection: Connection, request: Message): void {
    const props = request.application_properties ?? {};
    const type = String(props.type ?? '');
    let status = 202;
    let description = 'Accepted';
    if (props.operation !== 'put-token') {
      status = 400;
      description = `BadRequest: the operation '${String(props.operation)}' is not supported.`;
    } else if (type !== 'servicebus.windows.net:sastoken') {
      status = 401;
      description = 'InvalidIssuer: only shared access signature tokens are accepted by this namespace.';
    } else {
      const check = checkSasToken(String(request.body ?? ''), this.policies, Math.floor(Date.now() / 1000));
      if (check.ok) {
        const claims = this.#claims.get(connection) ?? [];
        claims.push({
          path: addressOf(check.resource),
          rights: check.policy.rights ?? ['Listen', 'Send', 'Manage'],
          expiresAt: check.expiresAt,
        });
        this.#claims.set(connection, claims);
      } else {
        status = check.status;
        description = check.description;
      }
    }
    if (status === 202) this.stats.putTokensAccepted += 1;
    else this.stats.putTokensRefused += 1;
    this.#reply(connection, request, { 'status-code': status, 'status-description': description });
  }

  #onManagement(connection: Connection, entityPath: string, request: Message): void {
    const props = request.application_properties ?? {};
    const entity = this.#entities.get(entityPath);
    if (!entity) {
      this.#reply(connection, request, {
        'status-code': 404,
        'status-description': `The messaging entity '${this.endpoint}${entityPath}' could not be found.`,
        'error-condition': 'amqp:not-found',
      });
      return;
    }
    if (!this.#authorised(connection, entityPath, 'Listen')) {
      this.#reply(connection, request, {
        'status-code': 401,
        'status-description': "Unauthorized access. 'Listen' claim(s) are required to perform this operation.",
        'error-condition': 'amqp:unauthorized-access',
      });
      return;
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    const tokens = lockTokens(body['lock-tokens']);
    if (props.operation === 'com.microsoft:renew-lock') {
      this.stats.renewLocks += 1;
      const expirations: Date[] = [];
      for (const token of tokens) {
        const until = entity.renew(token);
        if (until === undefined) {
          this.#reply(connection, request, lockLost());
          return;
        }
        expirations.push(new Date(until));
      }
      this.#reply(connection, request, { 'status-code': 200, 'status-description': 'OK' }, { expirations });
      return;
    }
    if (props.operation === 'com.microsoft:renew-session-lock') {
      const lock = this.#sessions.get(sessionKey(entity, String(body['session-id'] ?? '')));
      if (!lock) {
        this.#reply(connection, request, {
          'status-code': 410,
          'status-description': 'The session lock has expired on the MessageSession. Accept a new MessageSession.',
          'error-condition': 'com.microsoft:session-lock-lost',
        });
        return;
      }
      this.stats.renewLocks += 1;
      this.#armSession(lock);
      this.#reply(
        connection,
        request,
        { 'status-code': 200, 'status-description': 'OK' },
        { expiration: new Date(lock.until) },
      );
      return;
    }
    if (props.operation === 'com.microsoft:update-disposition') {
      const status = String(body['disposition-status'] ?? '');
      const properties = body['properties-to-modify'] as Record<string, unknown> | undefined;
      for (const token of tokens) {
        const done =
          status === 'completed'
            ? entity.complete(token)
            : status === 'abandoned'
              ? entity.abandon(token, properties)
              : status === 'suspended'
                ? entity.deadLetterLocked(
                    token,
                    body['deadletter-reason'] as string | undefined,
                    body['deadletter-description'] as string | undefined,
                    properties,
                  )
                : false;
        if (!done) {
          this.#reply(connection, request, lockLost());
          return;
        }
      }
      this.#reply(connection, request, { 'status-code': 200, 'status-description': 'OK' }, {});
      return;
    }
    this.#reply(connection, request, {
      'status-code': 501,
      'status-description': `The operation '${String(props.operation)}' is not implemented by the test peer.`,
      'error-condition': 'amqp:not-implemented',
    });
  }

  #reply(connection: Connection, request: Message, properties: Record<string, unknown>, body?: unknown): void {
    const replyTo = request.reply_to;
    const link = connection.find_sender(
      (candidate: Sender) => candidate.name === replyTo || candidate.target?.address === replyTo,
    );
    link?.send({
      correlation_id: request.message_id,
      application_properties: properties,
      body: body ?? null,
    });
  }

  #authorised(connection: Connection, address: string, right: SasRight): boolean {
    const now = Math.floor(Date.now() / 1000);
    return (this.#claims.get(connection) ?? []).some(
      (claim) =>
        claim.expiresAt > now &&
        (claim.rights.includes(right) || claim.rights.includes('Manage')) &&
        (claim.path === '' || address === claim.path || address.startsWith(`${claim.path}/`)),
    );
  }

  /**
   * Locks the requested session (or the one with the oldest available message) for this link, and
   * tells the client which one and until when (the attach's source filter and
   * `com.microsoft:locked-until-utc`); refuses the link as the service does when it cannot.
   */
  #acceptSession(sender: Sender, entity: PeerEntity, requested: unknown, asked: boolean): SessionLock | undefined {
    if (!entity.requiresSession) {
      sender.close({
        condition: 'amqp:not-allowed',
        description: `The entity '${entity.path}' does not require sessions; a session receiver cannot be created for it.`,
      });
      return undefined;
    }
    if (!asked) {
      sender.close({
        condition: 'amqp:not-allowed',
        description:
          'It is not possible for an entity that requires sessions to create a non-sessionful message receiver.',
      });
      return undefined;
    }
    const free = (id: string) => !this.#sessions.has(sessionKey(entity, id));
    const sessionId = typeof requested === 'string' ? requested : entity.sessionsWithMessages().find((id) => free(id));
    if (sessionId === undefined) {
      sender.close({
        condition: 'com.microsoft:timeout',
        description: 'The operation did not complete within the allotted timeout: no unlocked session is available.',
      });
      return undefined;
    }
    if (!free(sessionId)) {
      sender.close({
        condition: 'com.microsoft:session-cannot-be-locked',
        description: `The requested session '${sessionId}' cannot be accepted. It may be locked by another receiver.`,
      });
      return undefined;
    }
    const lock: SessionLock = { entity, sessionId, sender, until: 0, timer: setTimeout(() => {}, 0) };
    this.#sessions.set(sessionKey(entity, sessionId), lock);
    this.#armSession(lock);
    sender.set_source({ address: sender.source?.address ?? entity.path, filter: { [SESSION_FILTER]: sessionId } });
    (sender as unknown as { local: { attach: { properties: Record<string, unknown> } } }).local.attach.properties = {
      'com.microsoft:locked-until-utc': rhea.types.wrap_long(dotNetTicks(lock.until)),
    };
    return lock;
  }

  /** (Re)starts the session's lock: at its expiry the session is released and its receiver detached. */
  #armSession(lock: SessionLock): void {
    clearTimeout(lock.timer);
    lock.until = Date.now() + lock.entity.lockDurationMs;
    lock.timer = setTimeout(() => {
      this.#releaseSession(lock);
      lock.sender.close({
        condition: 'com.microsoft:session-lock-lost',
        description: 'The session lock has expired on the MessageSession. Accept a new MessageSession.',
      });
    }, lock.entity.lockDurationMs);
    lock.timer.unref();
  }

  #releaseSession(lock: SessionLock): void {
    clearTimeout(lock.timer);
    const key = sessionKey(lock.entity, lock.sessionId);
    if (this.#sessions.get(key) !== lock) return;
    this.#sessions.delete(key);
    lock.entity.releaseSession(lock.sessionId);
  }

  #pumpEntity(key: string): void {
    for (const link of this.#receiveLinks) if (normalise(link.entity.path) === key) this.#pumpLink(link.sender);
  }

  #pumpLink(sender: Sender | undefined): void {
    if (!sender) return;
    const link = [...this.#receiveLinks].find((candidate) => candidate.sender === sender);
    if (!link) return;
    // One message per turn: rhea spends the link's credit only when it writes the transfer out (on
    // the next tick), so sending in a loop would lock more messages than the receiver asked for.
    if (!sender.sendable()) return;
    if (link.receiveAndDelete) {
      const taken = link.entity.takeNext();
      if (!taken) return;
      sender.send(outgoing(taken, undefined));
    } else {
      const next = link.entity.lockNext(
        Date.now(),
        link.session && { id: link.session.sessionId, until: link.session.until },
      );
      if (!next?.lock) return;
      const delivery = sender.send(outgoing(next, next.lock.until), lockTokenTag(next.lock.token));
      this.#deliveryLocks.set(delivery, { entity: link.entity, token: next.lock.token });
    }
    setImmediate(() => this.#pumpLink(sender));
  }

  #onSettlement(outcome: 'accepted' | 'rejected' | 'modified' | 'released', context: EventContext): void {
    const delivery = context.delivery as Delivery;
    const held = this.#deliveryLocks.get(delivery);
    if (!held) return;
    this.#deliveryLocks.delete(delivery);
    const { entity, token } = held;
    const state = delivery.remote_state as
      | {
          error?: AmqpError & { info?: Record<string, unknown> };
          undeliverable_here?: boolean;
          message_annotations?: Record<string, unknown>;
        }
      | undefined;
    let done: boolean;
    if (outcome === 'accepted') done = entity.complete(token);
    else if (outcome === 'released') done = entity.release(token);
    else if (outcome === 'modified') {
      done = state?.undeliverable_here
        ? false // defer: not modelled by the peer
        : entity.abandon(token, state?.message_annotations);
    } else if (state?.error?.condition === DEAD_LETTER_CONDITION) {
      const { DeadLetterReason, DeadLetterErrorDescription, ...rest } = state.error.info ?? {};
      done = entity.deadLetterLocked(
        token,
        DeadLetterReason as string | undefined,
        DeadLetterErrorDescription as string | undefined,
        Object.keys(rest).length ? rest : undefined,
      );
    } else done = entity.abandon(token);
    if (done) {
      // Confirm with the client's outcome; a dead-letter is confirmed without its error, which
      // the SDK would read as a failed settlement.
      const confirmed =
        outcome === 'rejected'
          ? codec.rejected({}).described()
          : (delivery.remote_state as { described?: () => unknown } | undefined)?.described?.();
      delivery.update(true, confirmed);
    } else {
      delivery.update(
        true,
        codec
          .rejected({
            error: {
              condition: MESSAGE_LOCK_LOST,
              description:
                'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
            },
          })
          .described(),
      );
    }
  }
}

function sessionKey(entity: PeerEntity, sessionId: string): string {
  return `${normalise(entity.path)}\n${sessionId}`;
}

/** .NET ticks (100 ns since 0001-01-01) as the 8 big-endian bytes of an AMQP long. */
function dotNetTicks(ms: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(ms) * 10_000n + 621_355_968_000_000_000n);
  return bytes;
}

function normalise(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').toLowerCase();
}

/** The entity path of a link address or token resource (`sb://host/path` or `path`), lower-cased. */
function addressOf(address: string | undefined): string {
  const raw = address ?? '';
  const withoutHost = raw.replace(/^[a-z]+:\/\/[^/]*/i, '');
  return normalise(withoutHost);
}

function notFound(address: string, endpoint: string): AmqpError {
  return {
    condition: 'amqp:not-found',
    description: `The messaging entity '${endpoint}${address}' could not be found.`,
  };
}

function unauthorised(right: SasRight): AmqpError {
  return {
    condition: 'amqp:unauthorized-access',
    description: `Unauthorized access. '${right}' claim(s) are required to perform this operation.`,
  };
}

function lockLost(): Record<string, unknown> {
  return {
    'status-code': 410,
    'status-description':
      'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
    'error-condition': MESSAGE_LOCK_LOST,
  };
}

/** The SDK reads lock tokens from delivery tags in .NET GUID byte order; the swap is its own inverse. */
function reorderGuidBytes(bytes: Buffer): Buffer {
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((at) => bytes[at] ?? 0));
}

function lockTokenTag(token: string): Buffer {
  return reorderGuidBytes(rhea.string_to_uuid(token));
}

function lockTokens(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((token) => (Buffer.isBuffer(token) ? rhea.uuid_to_string(token) : String(token)));
}

/** The sub-messages of a batch (format 0x80013700): each data section holds one encoded message. */
function unbatch(batch: Message): Message[] {
  const body = batch.body as { content?: unknown; multiple?: boolean } | undefined;
  const sections = body?.multiple ? (body.content as Buffer[]) : body?.content ? [body.content as Buffer] : [];
  return sections.map((section) => codec.decode(section));
}

/**
 * The message as the entity keeps it: the broker's annotations are the service's to set, and a
 * message sent without an id gets one (received messages always carry one; the SDK's lock renewer
 * keys on it).
 */
function asEnqueued(message: Message): Message {
  const annotations = { ...(message.message_annotations ?? {}) };
  for (const key of Object.keys(annotations)) {
    if (key.startsWith('x-opt-locked') || key === 'x-opt-sequence-number') delete annotations[key];
  }
  return { ...message, message_id: message.message_id ?? rhea.generate_uuid(), message_annotations: annotations };
}

function outgoing(stored: StoredMessage, lockedUntil: number | undefined): Message {
  return {
    ...stored.message,
    delivery_count: stored.deliveryCount,
    message_annotations: {
      ...(stored.message.message_annotations ?? {}),
      'x-opt-sequence-number': rhea.types.wrap_long(stored.sequenceNumber),
      'x-opt-enqueued-time': stored.enqueuedAt,
      ...(lockedUntil === undefined ? {} : { 'x-opt-locked-until': new Date(lockedUntil) }),
    },
  };
}

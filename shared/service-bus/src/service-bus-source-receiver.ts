/**
 * One configured source: a peek-lock receiver on a queue or topic subscription whose messages go
 * through `MessageIntake` (accept, then complete / dead-letter / abandon), up to
 * `maxConcurrentCalls` at once. The SDK renews each message's lock while it is being handled, up to
 * `maxLockRenewalMs`, so a slow accept does not lose the lock.
 *
 * Every worker replica runs every source: Service Bus hands each message to one receiver at a time
 * (competing consumers), so no lease is needed, unlike the Salesforce channels.
 *
 * A session-enabled source (`sessions`) runs `maxConcurrentSessions` loops instead: each accepts
 * the next free session, handles its messages one at a time in order, and releases the session
 * when none comes for `sessionIdleMs`; the SDK renews the session lock meanwhile.
 *
 * Errors the SDK reports while receiving (a refused credential, an unknown entity, a lost
 * connection) go to `processError`: they are logged, kept in `status().lastError`, and the SDK keeps
 * trying to receive; nothing is settled, so no message is lost.
 */

import {
  isServiceBusError,
  type ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSessionReceiver,
} from '@azure/service-bus';
import type { ServiceBusSource } from '@mcp-broker/broker-config';
import { Backoff, type BackoffOptions } from '@mcp-broker/resilience';
import type { MessageIntake, MessageOutcome } from './message-intake.ts';
import { type ServiceBusLogger, silentLogger } from './service-bus-logger.ts';

export type ReceiverState = 'idle' | 'receiving' | 'stopped';

export interface ServiceBusSourceStatus {
  id: string;
  caller: string;
  entity: string;
  state: ReceiverState;
  received: number;
  outcomes: Record<MessageOutcome, number>;
  lastMessageAt?: string;
  /** The last error the SDK reported while receiving; its `code` is the ServiceBusError code (UnauthorizedAccess…). */
  lastError?: { code?: string; message: string; at: string };
}

export interface ServiceBusSourceReceiverOptions {
  source: Pick<
    ServiceBusSource,
    | 'id'
    | 'caller'
    | 'queue'
    | 'topic'
    | 'subscription'
    | 'maxConcurrentCalls'
    | 'maxLockRenewalMs'
    | 'sessions'
    | 'maxConcurrentSessions'
    | 'sessionIdleMs'
  >;
  client: ServiceBusClient;
  intake: MessageIntake;
  logger?: ServiceBusLogger;
  now?: () => Date;
  /** Wait before asking again when no session is free (the service itself waits up to a minute). Default 1,000 ms. */
  sessionPollMs?: number;
  /** Backoff after a failure to accept a session. Default 1 s doubling to 30 s. */
  sessionBackoff?: BackoffOptions;
}

export class ServiceBusSourceReceiver {
  readonly id: string;
  readonly #o: ServiceBusSourceReceiverOptions;
  readonly #logger: ServiceBusLogger;
  readonly #now: () => Date;
  readonly #entity: string;
  #receiver: ServiceBusReceiver | undefined;
  #subscription: { close(): Promise<void> } | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #sessionLoops: Promise<void>[] = [];
  #abort = new AbortController();
  #status: ServiceBusSourceStatus;

  constructor(options: ServiceBusSourceReceiverOptions) {
    this.#o = options;
    this.id = options.source.id;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
    this.#entity = options.source.queue ?? `${options.source.topic}/Subscriptions/${options.source.subscription}`;
    this.#status = {
      id: options.source.id,
      caller: options.source.caller,
      entity: this.#entity,
      state: 'idle',
      received: 0,
      outcomes: { queued: 0, duplicate: 0, 'dead-lettered': 0, abandoned: 0 },
    };
  }

  status(): ServiceBusSourceStatus {
    return { ...this.#status, outcomes: { ...this.#status.outcomes } };
  }

  /** Starts receiving (idempotent while running). */
  start(): void {
    if (this.#receiver || this.#sessionLoops.length > 0) return;
    const { source, client } = this.#o;
    this.#status.state = 'receiving';
    this.#abort = new AbortController();
    if (source.sessions) {
      const signal = this.#abort.signal;
      this.#sessionLoops = Array.from({ length: source.maxConcurrentSessions }, () => this.#sessionLoop(signal));
      this.#logger.info(
        { source: this.id, entity: this.#entity, sessions: source.maxConcurrentSessions },
        'Service Bus: receiving sessions',
      );
      return;
    }
    const options = { receiveMode: 'peekLock' as const, maxAutoLockRenewalDurationInMs: source.maxLockRenewalMs };
    const receiver =
      source.queue !== undefined
        ? client.createReceiver(source.queue, options)
        : client.createReceiver(source.topic ?? '', source.subscription ?? '', options);
    this.#receiver = receiver;
    this.#subscription = receiver.subscribe(
      {
        processMessage: (message) => this.#track(this.#handle(receiver, message)),
        processError: async (args) => this.#onError(args.error, args.errorSource),
      },
      { autoCompleteMessages: false, maxConcurrentCalls: source.maxConcurrentCalls },
    );
    this.#logger.info({ source: this.id, entity: this.#entity }, 'Service Bus: receiving');
  }

  /** Stops taking messages, lets the ones in hand finish, and closes the receiver. Restartable. */
  async stop(): Promise<void> {
    const subscription = this.#subscription;
    const receiver = this.#receiver;
    this.#subscription = undefined;
    this.#receiver = undefined;
    this.#status.state = 'stopped';
    // No new credit first, then cut short what waits to abandon: an abandoned message must not be
    // handed straight back to this closing receiver.
    await subscription?.close();
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight, ...this.#sessionLoops]);
    this.#sessionLoops = [];
    await receiver?.close();
  }

  /** One session at a time: accept the next free one, its messages in order, release it when idle. */
  async #sessionLoop(signal: AbortSignal): Promise<void> {
    const { source, client } = this.#o;
    const backoff = new Backoff(this.#o.sessionBackoff ?? { baseDelayMs: 1_000, maxDelayMs: 30_000, jitter: 'equal' });
    const options = { maxAutoLockRenewalDurationInMs: source.maxLockRenewalMs, abortSignal: signal };
    while (!signal.aborted) {
      let session: ServiceBusSessionReceiver;
      try {
        session =
          source.queue !== undefined
            ? await client.acceptNextSession(source.queue, options)
            : await client.acceptNextSession(source.topic ?? '', source.subscription ?? '', options);
        backoff.reset();
      } catch (error) {
        if (signal.aborted) break;
        const code = isServiceBusError(error) ? error.code : undefined;
        // No free session right now: not a failure.
        if (code === 'ServiceTimeout' || code === 'SessionCannotBeLocked') {
          await pause(this.#o.sessionPollMs ?? 1_000, signal);
        } else {
          this.#onError(error as Error, 'receive');
          await pause(backoff.next(), signal);
        }
        continue;
      }
      try {
        while (!signal.aborted) {
          const [message] = await session.receiveMessages(1, {
            maxWaitTimeInMs: source.sessionIdleMs,
            abortSignal: signal,
          });
          if (!message) break;
          await this.#track(this.#handle(session, message));
        }
      } catch (error) {
        if (!signal.aborted) this.#onError(error as Error, 'receive');
      } finally {
        await session.close().catch(() => undefined);
      }
    }
  }

  async #handle(
    receiver: ServiceBusReceiver | ServiceBusSessionReceiver,
    message: ServiceBusReceivedMessage,
  ): Promise<void> {
    this.#status.received += 1;
    this.#status.lastMessageAt = this.#now().toISOString();
    const outcome = await this.#o.intake.handle(
      message,
      {
        complete: () => receiver.completeMessage(message),
        abandon: () => receiver.abandonMessage(message),
        deadLetter: (deadLetterReason, deadLetterErrorDescription) =>
          receiver.deadLetterMessage(message, { deadLetterReason, deadLetterErrorDescription }),
      },
      this.#abort.signal,
    );
    this.#status.outcomes[outcome] += 1;
  }

  async #track(work: Promise<void>): Promise<void> {
    this.#inFlight.add(work);
    try {
      await work;
    } finally {
      this.#inFlight.delete(work);
    }
  }

  #onError(reported: Error, errorSource: string): void {
    // Closing the receiver cuts its initialisation short: that is not a receiving failure.
    if (this.#status.state === 'stopped') return;
    // The SDK's retries give up with an AggregateError of every attempt; the last one says why.
    const error =
      reported instanceof AggregateError && reported.errors.length > 0 ? (reported.errors.at(-1) as Error) : reported;
    const code = isServiceBusError(error) ? error.code : (error as { code?: unknown }).code;
    this.#status.lastError = {
      ...(typeof code === 'string' ? { code } : {}),
      message: error.message,
      at: this.#now().toISOString(),
    };
    this.#logger.error(
      { source: this.id, entity: this.#entity, errorSource, err: { message: error.message, code } },
      'Service Bus: receiving failed; the SDK keeps retrying',
    );
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

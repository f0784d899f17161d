/**
 * One configured source: a peek-lock receiver on a queue or topic subscription whose messages go
 * through `MessageIntake` (accept, then complete / dead-letter / abandon), up to
 * `maxConcurrentCalls` at once. The SDK renews each message's lock while it is being handled, up to
 * `maxLockRenewalMs`, so a slow accept does not lose the lock.
 *
 * Every worker replica runs every source: Service Bus hands each message to one receiver at a time
 * (competing consumers), so no lease is needed, unlike the Salesforce channels.
 *
 * Errors the SDK reports while receiving (a refused credential, an unknown entity, a lost
 * connection) go to `processError`: they are logged, kept in `status().lastError`, and the SDK keeps
 * trying to receive; nothing is settled, so no message is lost.
 */

import {
  isServiceBusError,
  type ProcessErrorArgs,
  type ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';
import type { ServiceBusSource } from '@mcp-broker/broker-config';
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
    'id' | 'caller' | 'queue' | 'topic' | 'subscription' | 'maxConcurrentCalls' | 'maxLockRenewalMs'
  >;
  client: ServiceBusClient;
  intake: MessageIntake;
  logger?: ServiceBusLogger;
  now?: () => Date;
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
    if (this.#receiver) return;
    const { source, client } = this.#o;
    const options = { receiveMode: 'peekLock' as const, maxAutoLockRenewalDurationInMs: source.maxLockRenewalMs };
    const receiver =
      source.queue !== undefined
        ? client.createReceiver(source.queue, options)
        : client.createReceiver(source.topic ?? '', source.subscription ?? '', options);
    this.#receiver = receiver;
    this.#status.state = 'receiving';
    this.#subscription = receiver.subscribe(
      {
        processMessage: (message) => this.#track(this.#handle(receiver, message)),
        processError: async (args) => this.#onError(args),
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
    await subscription?.close();
    await Promise.allSettled([...this.#inFlight]);
    await receiver?.close();
    this.#status.state = 'stopped';
  }

  async #handle(receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage): Promise<void> {
    this.#status.received += 1;
    this.#status.lastMessageAt = this.#now().toISOString();
    const outcome = await this.#o.intake.handle(message, {
      complete: () => receiver.completeMessage(message),
      abandon: () => receiver.abandonMessage(message),
      deadLetter: (deadLetterReason, deadLetterErrorDescription) =>
        receiver.deadLetterMessage(message, { deadLetterReason, deadLetterErrorDescription }),
    });
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

  #onError(args: ProcessErrorArgs): void {
    // Closing the receiver cuts its initialisation short: that is not a receiving failure.
    if (!this.#receiver) return;
    // The SDK's retries give up with an AggregateError of every attempt; the last one says why.
    const error =
      args.error instanceof AggregateError && args.error.errors.length > 0
        ? (args.error.errors.at(-1) as Error)
        : args.error;
    const code = isServiceBusError(error) ? error.code : (error as { code?: unknown }).code;
    this.#status.lastError = {
      ...(typeof code === 'string' ? { code } : {}),
      message: error.message,
      at: this.#now().toISOString(),
    };
    this.#logger.error(
      { source: this.id, entity: this.#entity, errorSource: args.errorSource, err: { message: error.message, code } },
      'Service Bus: receiving failed; the SDK keeps retrying',
    );
  }
}

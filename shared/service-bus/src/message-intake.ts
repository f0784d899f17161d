/**
 * One received message through the broker core, settled by what `accept` says:
 *
 * | accept | settlement |
 * |---|---|
 * | `queued` / `duplicate` | complete (only now: the call is recorded and queued) |
 * | `refused` (or the message is malformed) | dead-letter, `deadLetterReason` = the code, `deadLetterErrorDescription` = the message; the refusal is recorded by accept |
 * | throws (store or Redis down, the key being accepted elsewhere) | abandon after a backoff: the message comes again, its key makes it one call |
 *
 * A settlement that fails (the lock was lost meanwhile) is logged: the message is delivered again
 * and its idempotency key makes the repeat the same call.
 */

import type { ToolCallIntake } from '@mcp-broker/broker';
import type { CallerConfig } from '@mcp-broker/broker-config';
import { Backoff, type BackoffOptions } from '@mcp-broker/resilience';
import { type ReceivedRequestMessage, type RequestSource, requestFromMessage } from './request-from-message.ts';
import { type ServiceBusLogger, silentLogger } from './service-bus-logger.ts';

/** How a message is settled on the entity (the SDK receiver's methods, bound to the message). */
export interface Settlement {
  complete(): Promise<void>;
  abandon(): Promise<void>;
  deadLetter(reason: string, description: string): Promise<void>;
}

export type MessageOutcome = 'queued' | 'duplicate' | 'dead-lettered' | 'abandoned';

export interface MessageIntakeOptions {
  intake: Pick<ToolCallIntake, 'accept'>;
  caller: CallerConfig;
  source: RequestSource;
  logger?: ServiceBusLogger;
  /** Wait before abandoning after a transient failure, so redeliveries do not spend the entity's maxDeliveryCount in seconds. Default 1 s doubling to 30 s. */
  abandonBackoff?: BackoffOptions;
  /** Injectable for tests; resolves early when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Service Bus keeps application property strings short enough; a description past this is cut. */
const MAX_DESCRIPTION = 4_096;

export class MessageIntake {
  readonly #o: MessageIntakeOptions;
  readonly #logger: ServiceBusLogger;
  readonly #backoff: Backoff;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: MessageIntakeOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
    this.#backoff = new Backoff(options.abandonBackoff ?? { baseDelayMs: 1_000, maxDelayMs: 30_000, jitter: 'equal' });
    this.#sleep = options.sleep ?? abortableSleep;
  }

  /** `signal`: the receiver is stopping; a backoff before abandoning is cut short so shutdown does not wait it out. */
  async handle(message: ReceivedRequestMessage, settle: Settlement, signal?: AbortSignal): Promise<MessageOutcome> {
    const { request, refusal } = requestFromMessage(message, this.#o.source);
    const log = { source: this.#o.source.id, messageId: request.correlation.requestId, key: request.idempotencyKey };
    let acceptance: Awaited<ReturnType<ToolCallIntake['accept']>>;
    try {
      acceptance = await this.#o.intake.accept(this.#o.caller, request, refusal ? { refusal } : {});
    } catch (error) {
      const delay = this.#backoff.next();
      this.#logger.warn(
        { ...log, err: errorDetails(error), retryInMs: delay },
        'Service Bus: accept failed; abandoning the message',
      );
      await this.#sleep(delay, signal);
      await this.#settle(log, 'abandon', () => settle.abandon());
      return 'abandoned';
    }
    this.#backoff.reset();
    if (acceptance.outcome === 'refused') {
      // A malformed message keeps its own code; the broker's reason stands for its own refusals.
      const { code, message: description } = refusal ?? acceptance.reason;
      this.#logger.warn(
        { ...log, code, callId: acceptance.record?.id },
        'Service Bus: request refused; dead-lettering it',
      );
      await this.#settle(log, 'dead-letter', () => settle.deadLetter(code, description.slice(0, MAX_DESCRIPTION)));
      return 'dead-lettered';
    }
    await this.#settle(log, 'complete', () => settle.complete());
    return acceptance.outcome;
  }

  async #settle(log: object, what: string, settle: () => Promise<void>): Promise<void> {
    try {
      await settle();
    } catch (error) {
      // The message comes again (lock expiry); its idempotency key makes it the same call.
      this.#logger.warn(
        { ...log, err: errorDetails(error) },
        `Service Bus: ${what} failed; the message will be delivered again`,
      );
    }
  }
}

function errorDetails(error: unknown): { message: string; code?: string } {
  const e = error as { message?: unknown; code?: unknown } | null;
  return {
    message: typeof e?.message === 'string' ? e.message : String(error),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

import { setTimeout as sleep } from 'node:timers/promises';
import { EventGridReceiverClient, AzureKeyCredential as NamespaceKeyCredential } from '@azure/eventgrid-namespaces';
import type { CallerConfig, EventGridPullSubscription } from '@mcp-broker/broker-config';
import type { TokenProviderOptions } from '@mcp-broker/mcp-client';
import { Backoff } from '@mcp-broker/resilience';
import { resolveCredential } from '../event-grid-credential.ts';
import { EventRouter, RouteProblem } from '../event-router.ts';
import type { InboundEvent } from '../inbound-event.ts';
import { idempotencyKeyOf, requestOf, type ToolCallAcceptor } from '../tool-call-acceptor.ts';

/** The receiver operations the source uses (`EventGridReceiverClient`). */
export type NamespaceReceiver = Pick<
  EventGridReceiverClient,
  'receiveEvents' | 'acknowledgeEvents' | 'releaseEvents' | 'rejectEvents'
>;

export interface PullSourceLogger {
  info(facts: Record<string, unknown>, message: string): void;
  warn(facts: Record<string, unknown>, message: string): void;
}

export interface NamespacePullSourceOptions {
  subscription: EventGridPullSubscription;
  caller: CallerConfig;
  acceptor: ToolCallAcceptor;
  logger: PullSourceLogger;
  env: Record<string, string | undefined>;
  fetch?: TokenProviderOptions['fetch'];
  azureCredential?: TokenProviderOptions['azureCredential'];
  /** Waits after a failed receive: doubling from 1 s to 60 s by default. */
  backoff?: { baseDelayMs: number; maxDelayMs: number };
}

export interface PullSourceStatus {
  subscription: string;
  received: number;
  acknowledged: number;
  released: number;
  rejected: number;
  lastError?: string;
}

type Settlement = 'acknowledge' | 'release' | 'reject';

/**
 * Pull delivery from an Event Grid namespace topic subscription: no public endpoint needed. Each
 * received event is routed and handed to the broker core; its lock token is then
 * - acknowledged only once the core answered `queued` or `duplicate` (the call is recorded and queued),
 * - released (with the configured delay) when the core threw, a transient failure: the event comes back,
 * - rejected (dead-lettered by Event Grid) when it can never become a call: unreadable, no route,
 *   or refused by the core (which records the refusal).
 * A consumer that dies between receive and acknowledge loses nothing: the lock expires, the event is
 * delivered again, and its idempotency key (subscription + event id) makes it the same call.
 */
export class NamespacePullSource {
  readonly #o: NamespacePullSourceOptions;
  readonly #router: EventRouter;
  readonly #receiver: NamespaceReceiver;
  readonly #backoff: Backoff;
  readonly #status: PullSourceStatus;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: NamespacePullSourceOptions, receiver?: NamespaceReceiver) {
    this.#o = options;
    const { subscription } = options;
    this.#router = new EventRouter(subscription.routes, `eventGrid.pull[${subscription.id}]`);
    this.#receiver = receiver ?? buildReceiver(options);
    this.#backoff = new Backoff({
      ...(options.backoff ?? { baseDelayMs: 1_000, maxDelayMs: 60_000 }),
      jitter: 'equal',
    });
    this.#status = { subscription: subscription.id, received: 0, acknowledged: 0, released: 0, rejected: 0 };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops receiving; events being handled are settled first (an outstanding receive is cut off). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#abort = new AbortController();
  }

  status(): PullSourceStatus {
    return { ...this.#status };
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await this.pollOnce(signal);
        this.#backoff.reset();
      } catch (error) {
        if (signal.aborted) break;
        const message = (error as Error).message?.split('\n')[0]?.slice(0, 300) ?? String(error);
        this.#status.lastError = message;
        const waitMs = this.#backoff.next();
        this.#o.logger.warn(
          {
            subscription: this.#o.subscription.id,
            statusCode: (error as { statusCode?: number }).statusCode,
            waitMs,
            error: message,
          },
          'event grid receive failed; retrying',
        );
        await sleep(waitMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** One receive and the settlement of what it brought; resolves with how many events it handled. */
  async pollOnce(signal: AbortSignal = this.#abort.signal): Promise<number> {
    const { subscription } = this.#o;
    const received = await this.#receiver.receiveEvents({
      maxEvents: subscription.maxEvents,
      maxWaitTime: subscription.maxWaitSeconds,
      abortSignal: signal,
    });
    this.#status.received += received.details.length;
    const buckets: Record<Settlement, string[]> = { acknowledge: [], release: [], reject: [] };
    for (const detail of received.details) {
      buckets[await this.#handle(detail.event, detail.brokerProperties.deliveryCount)].push(
        detail.brokerProperties.lockToken,
      );
    }
    await this.#settle(buckets);
    return received.details.length;
  }

  async #handle(
    raw: Awaited<ReturnType<NamespaceReceiver['receiveEvents']>>['details'][number]['event'],
    deliveryCount: number,
  ): Promise<Settlement> {
    const { subscription, caller, acceptor } = this.#o;
    const event: InboundEvent = {
      schema: 'cloudevents',
      id: raw.id,
      type: raw.type,
      subject: raw.subject,
      source: raw.source,
      time: raw.time instanceof Date ? raw.time.toISOString() : undefined,
      data: raw.data,
      traceparent: undefined,
    };
    const key = idempotencyKeyOf('pull', subscription.id, event.id);
    const correlation = { requestId: `eventgrid-${subscription.id}-${event.id}`.slice(0, 200) };
    const facts = { subscription: subscription.id, eventId: event.id, eventType: event.type, deliveryCount };
    try {
      let acceptance: Awaited<ReturnType<ToolCallAcceptor['accept']>>;
      try {
        const call = await this.#router.route(event, 'event', subscription.id);
        acceptance = await acceptor.accept(caller, requestOf(call, event, key, correlation));
      } catch (error) {
        if (!(error instanceof RouteProblem)) throw error;
        // Recorded as a refused call, so the caller can see why the event never ran.
        await acceptor.accept(caller, requestOf({ tool: '', arguments: {}, writeBack: [] }, event, key, correlation), {
          refusal: { code: error.code, message: error.message },
        });
        this.#o.logger.warn({ ...facts, code: error.code, reason: error.message }, 'event grid event rejected');
        return 'reject';
      }
      if (acceptance.outcome === 'refused') {
        this.#o.logger.warn(
          { ...facts, code: acceptance.reason.code, reason: acceptance.reason.message },
          'event grid event refused',
        );
        return 'reject';
      }
      return 'acknowledge';
    } catch (error) {
      this.#o.logger.warn(
        { ...facts, error: (error as Error).message },
        'event grid event not accepted now; releasing it',
      );
      return 'release';
    }
  }

  async #settle(buckets: Record<Settlement, string[]>): Promise<void> {
    const { subscription } = this.#o;
    const settle = async (kind: Settlement, tokens: string[]) => {
      if (tokens.length === 0) return;
      const result =
        kind === 'acknowledge'
          ? await this.#receiver.acknowledgeEvents(tokens)
          : kind === 'release'
            ? await this.#receiver.releaseEvents(tokens, { releaseDelay: String(subscription.releaseDelaySeconds) })
            : await this.#receiver.rejectEvents(tokens);
      const counter = kind === 'acknowledge' ? 'acknowledged' : kind === 'release' ? 'released' : 'rejected';
      this.#status[counter] += result.succeededLockTokens.length;
      if (result.failedLockTokens.length > 0) {
        // A lost lock: the event is delivered again and the idempotency key absorbs it.
        this.#o.logger.warn(
          {
            subscription: subscription.id,
            kind,
            failed: result.failedLockTokens.map((f) => f.error?.code ?? 'unknown'),
          },
          'event grid settlement failed for some lock tokens',
        );
      }
    };
    // Settle each kind even when another fails: an unsettled lock only means a redelivery.
    const outcomes = await Promise.allSettled([
      settle('acknowledge', buckets.acknowledge),
      settle('release', buckets.release),
      settle('reject', buckets.reject),
    ]);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

function buildReceiver(options: NamespacePullSourceOptions): NamespaceReceiver {
  const { subscription } = options;
  const credential = resolveCredential(subscription.credential, {
    env: options.env,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.azureCredential ? { azureCredential: options.azureCredential } : {}),
  });
  return new EventGridReceiverClient(
    subscription.endpoint,
    credential.kind === 'key' ? new NamespaceKeyCredential(credential.key) : credential.credential,
    subscription.topic,
    subscription.subscription,
  );
}

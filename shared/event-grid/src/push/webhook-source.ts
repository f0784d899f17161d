import type { CallerConfig, EventGridPushSubscription } from '@mcp-broker/broker-config';
import { BrokerError, isBrokerError } from '@mcp-broker/contracts';
import { EventRouter, RouteProblem } from '../event-router.ts';
import {
  type InboundEvent,
  InboundEventProblem,
  readInboundEvents,
  schemaOf,
  VALIDATION_EVENT_TYPE,
} from '../inbound-event.ts';
import { idempotencyKeyOf, requestOf, type ToolCallAcceptor } from '../tool-call-acceptor.ts';
import { WebhookAuthenticator } from './webhook-authenticator.ts';

/** One delivery as the HTTP layer hands it over: the body already parsed (and depth-checked) as JSON. */
export interface WebhookDelivery {
  subscription: string;
  headers: Record<string, string | string[] | undefined>;
  /** Media type without parameters, lower case. */
  contentType: string;
  body: unknown;
  requestId: string;
  traceparent?: string | undefined;
}

export interface WebhookAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

interface PushSubscription {
  config: EventGridPushSubscription;
  caller: CallerConfig;
  authenticator: WebhookAuthenticator;
  router: EventRouter;
}

export interface EventGridWebhookSourceOptions {
  subscriptions: readonly EventGridPushSubscription[];
  callers: readonly CallerConfig[];
  acceptor: ToolCallAcceptor;
  /** For the Entra issuers' discovery and JWKS; default the global fetch. */
  fetch?: typeof fetch;
}

/**
 * `POST /webhooks/eventgrid/{subscription}`: Event Grid push delivery in. Answers the two
 * handshakes (the Event Grid schema's `SubscriptionValidationEvent`, the CloudEvents
 * abuse-protection `OPTIONS`), authenticates the delivery, routes every event to a tool call and
 * hands each to the broker core. A delivery is all or nothing as far as the answer goes: any event
 * that cannot be read or routed refuses the whole delivery (400, nothing accepted, and Event Grid
 * dead-letters it instead of retrying); a transient failure of the core answers 503 so Event Grid
 * retries, and the idempotency key (subscription + event id) makes the retry one call per event.
 */
export class EventGridWebhookSource {
  readonly #subscriptions = new Map<string, PushSubscription>();
  readonly #acceptor: ToolCallAcceptor;

  constructor(options: EventGridWebhookSourceOptions) {
    this.#acceptor = options.acceptor;
    const callers = new Map(options.callers.map((c) => [c.id, c]));
    for (const config of options.subscriptions) {
      const caller = callers.get(config.caller);
      if (!caller) throw new TypeError(`eventGrid.push[${config.id}].caller: unknown caller "${config.caller}"`);
      this.#subscriptions.set(config.id, {
        config,
        caller,
        authenticator: new WebhookAuthenticator(config, options.fetch ? { fetch: options.fetch } : {}),
        router: new EventRouter(config.routes, `eventGrid.push[${config.id}]`),
      });
    }
  }

  /**
   * The CloudEvents abuse-protection handshake (CloudEvents HTTP webhook spec, section 4): Event
   * Grid asks with `WebHook-Request-Origin` and expects it back in `WebHook-Allowed-Origin`. It
   * carries no credential, and answering it grants nothing: every delivery is still authenticated.
   */
  handshake(subscription: string, headers: WebhookDelivery['headers']): WebhookAnswer {
    this.#subscription(subscription);
    const origin = single(headers['webhook-request-origin']);
    if (!origin) {
      throw new BrokerError(
        'BROKER_EVENT_GRID_HANDSHAKE_INVALID',
        'The abuse-protection request needs a WebHook-Request-Origin header (for Event Grid: eventgrid.azure.net).',
        { details: { fields: [{ field: 'headers.webhook-request-origin', problem: 'missing' }] } },
      );
    }
    const rate = single(headers['webhook-request-rate']);
    return {
      status: 200,
      headers: {
        'webhook-allowed-origin': origin,
        ...(rate ? { 'webhook-allowed-rate': /^\d+$/.test(rate) ? rate : '*' } : {}),
        allow: 'POST, OPTIONS',
      },
    };
  }

  async deliver(delivery: WebhookDelivery): Promise<WebhookAnswer> {
    const subscription = this.#subscription(delivery.subscription);
    const events = await this.#read(delivery);
    const validation = events.find((e) => e.schema === 'event-grid' && e.type === VALIDATION_EVENT_TYPE);
    if (validation) return this.#validate(validation, events.length);
    await subscription.authenticator.check(delivery.headers);

    // Route every event before accepting any, so a bad one refuses the delivery with nothing accepted.
    const calls = [];
    for (const [index, event] of events.entries()) {
      const at = Array.isArray(delivery.body) ? `body[${index}]` : 'body';
      try {
        calls.push({ event, at, call: await subscription.router.route(event, at, subscription.config.id) });
      } catch (error) {
        if (!(error instanceof RouteProblem)) throw error;
        throw new BrokerError(error.code, `${error.message}. Nothing of this delivery was accepted.`, {
          details: {
            fields: [{ field: error.field, problem: error.message }],
            eventId: event.id,
            eventType: event.type,
          },
        });
      }
    }

    const accepted: { eventId: string; callId: string; outcome: 'queued' | 'duplicate' }[] = [];
    for (const { event, at, call } of calls) {
      const key = idempotencyKeyOf('push', subscription.config.id, event.id);
      const request = requestOf(call, event, key, { requestId: delivery.requestId, traceparent: delivery.traceparent });
      let acceptance: Awaited<ReturnType<ToolCallAcceptor['accept']>>;
      try {
        acceptance = await this.#acceptor.accept(subscription.caller, request, { recordRefusal: false });
      } catch (error) {
        throw transient(error, accepted.length);
      }
      if (acceptance.outcome === 'refused') {
        const { reason } = acceptance;
        throw new BrokerError(reason.code, `${at} (event ${clip(event.id)}): ${reason.message}`, {
          details: { ...reason.details, eventId: event.id, acceptedBefore: accepted.length },
          headers: reason.headers,
        });
      }
      accepted.push({ eventId: event.id, callId: acceptance.record.id, outcome: acceptance.outcome });
    }
    return { status: 200, body: { accepted } };
  }

  #subscription(id: string): PushSubscription {
    const subscription = this.#subscriptions.get(id);
    if (!subscription) {
      throw new BrokerError(
        'BROKER_EVENT_GRID_SUBSCRIPTION_UNKNOWN',
        `No Event Grid push subscription "${clip(id)}" is configured (eventGrid.push[].id).`,
      );
    }
    return subscription;
  }

  async #read(delivery: WebhookDelivery): Promise<InboundEvent[]> {
    const schema = schemaOf(delivery.contentType, delivery.body);
    if (delivery.contentType === 'application/cloudevents-batch+json' && !Array.isArray(delivery.body)) {
      throw invalid('body', 'a CloudEvents batch (application/cloudevents-batch+json) must be a JSON array');
    }
    if (delivery.contentType === 'application/cloudevents+json' && Array.isArray(delivery.body)) {
      throw invalid(
        'body',
        'a structured CloudEvent (application/cloudevents+json) is one object; send batches as application/cloudevents-batch+json',
      );
    }
    if (delivery.contentType === 'application/json' && schema === 'event-grid' && !Array.isArray(delivery.body)) {
      throw invalid('body', 'Event Grid schema deliveries are a JSON array of events');
    }
    try {
      return await readInboundEvents(delivery.body, schema);
    } catch (error) {
      if (error instanceof InboundEventProblem) throw invalid(error.field, error.message);
      throw error;
    }
  }

  /** `validationCode` → `validationResponse`: the Event Grid schema's handshake when a subscription is created. */
  #validate(event: InboundEvent, count: number): WebhookAnswer {
    const code = (event.data as { validationCode?: unknown } | null)?.validationCode;
    if (count !== 1 || typeof code !== 'string' || code.length === 0 || code.length > 256) {
      throw invalid('body[0].data.validationCode', 'a subscription validation event carries one validationCode string');
    }
    return { status: 200, body: { validationResponse: code } };
  }
}

function invalid(field: string, problem: string): BrokerError {
  return new BrokerError(
    'BROKER_EVENT_GRID_EVENT_INVALID',
    `Invalid Event Grid delivery: ${field}: ${problem}. Nothing of this delivery was accepted.`,
    {
      details: { fields: [{ field, problem }] },
    },
  );
}

/** accept() threw: the store or Redis is down, or the key is being accepted right now. Event Grid retries anything but 400/401/403/413. */
function transient(error: unknown, acceptedBefore: number): BrokerError {
  if (isBrokerError(error)) return error;
  return new BrokerError(
    'BROKER_NOT_READY',
    `The broker could not accept the delivery just now (${acceptedBefore} event(s) accepted before); Event Grid retries it, and accepted events are not repeated.`,
    { headers: { 'retry-after': '5' }, cause: error },
  );
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function clip(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 77)}...` : printable;
}

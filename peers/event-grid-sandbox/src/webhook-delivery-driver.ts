import { randomUUID } from 'node:crypto';

/** An event subscription with a webhook endpoint, as Event Grid delivers to it. */
export interface WebhookSubscriptionOptions {
  endpointUrl: string;
  schema: 'EventGridSchema' | 'CloudEventSchemaV1_0';
  /** Sent upper-cased in `aeg-subscription-name`, as the service does. */
  subscriptionName: string;
  /** Entra delivery auth: the token Event Grid obtains for the subscription's audience. */
  bearerToken?: () => Promise<string>;
  /** Delivery properties: static headers the subscription adds (a secret key header, say). */
  headers?: Record<string, string>;
  /**
   * Waits between attempts, in ms. The service waits 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h…;
   * the default keeps that shape at a hundredth of the time.
   */
  retryDelaysMs?: number[];
  /** Attempts before the event is dead-lettered (the service's default is 30). Default 5. */
  maxDeliveryAttempts?: number;
  /** How long one attempt waits for an answer (the service waits 30 s). */
  timeoutMs?: number;
}

export interface DeliveryAttempt {
  status: number | 'network-error' | 'timeout';
  body: string;
}

export interface DeliveryOutcome {
  outcome: 'delivered' | 'dead-lettered';
  attempts: DeliveryAttempt[];
  /** Why the service gave up: a status it never retries, or attempts spent. */
  reason?: 'no-retry-status' | 'attempts-exhausted';
}

/** Statuses after which the service dead-letters a webhook delivery at once (docs: delivery and retry). */
const NO_RETRY = new Set([400, 401, 403, 413]);

/**
 * Delivers events to a webhook the way Event Grid does: the endpoint must pass the validation
 * handshake of the subscription's schema first (a `SubscriptionValidationEvent` for the Event Grid
 * schema, the CloudEvents abuse-protection `OPTIONS` for CloudEvents); then each batch is POSTed
 * with the `aeg-*` headers and retried on anything but success and the no-retry statuses.
 */
export class EventGridWebhookDriver {
  readonly #o: WebhookSubscriptionOptions;
  #deliveries = 0;

  constructor(options: WebhookSubscriptionOptions) {
    this.#o = options;
  }

  /** The handshake the service performs when the subscription is created; throws with what the endpoint answered wrong. */
  async validate(): Promise<{ status: number; body: string; headers: Headers }> {
    if (this.#o.schema === 'CloudEventSchemaV1_0') {
      const res = await fetch(this.#o.endpointUrl, {
        method: 'OPTIONS',
        headers: {
          ...(await this.#authHeaders()),
          'webhook-request-origin': 'eventgrid.azure.net',
          'webhook-request-rate': '120',
        },
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 30_000),
      });
      const body = await res.text();
      const allowed = res.headers.get('webhook-allowed-origin');
      if (res.status !== 200 || (allowed !== 'eventgrid.azure.net' && allowed !== '*')) {
        throw new Error(
          `Abuse-protection handshake failed: HTTP ${res.status}, WebHook-Allowed-Origin ${allowed ?? '(none)'}.`,
        );
      }
      return { status: res.status, body, headers: res.headers };
    }
    const validationCode = randomUUID().toUpperCase();
    const event = {
      id: randomUUID(),
      topic: '/subscriptions/sandbox/resourceGroups/sandbox/providers/Microsoft.EventGrid/topics/sandbox',
      subject: '',
      data: { validationCode, validationUrl: `https://rp-sandbox.eventgrid.azure.net/validate?code=${validationCode}` },
      eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
      eventTime: new Date().toISOString(),
      metadataVersion: '1',
      dataVersion: '2',
    };
    const res = await fetch(this.#o.endpointUrl, {
      method: 'POST',
      headers: {
        ...(await this.#authHeaders()),
        'content-type': 'application/json',
        'aeg-event-type': 'SubscriptionValidation',
        'aeg-subscription-name': this.#o.subscriptionName.toUpperCase(),
        'aeg-delivery-count': '0',
      },
      body: JSON.stringify([event]),
      signal: AbortSignal.timeout(this.#o.timeoutMs ?? 30_000),
    });
    const body = await res.text();
    let answered: unknown;
    try {
      answered = JSON.parse(body);
    } catch {
      answered = undefined;
    }
    if (res.status !== 200 || (answered as { validationResponse?: unknown })?.validationResponse !== validationCode) {
      throw new Error(`Subscription validation failed: HTTP ${res.status}, body ${body.slice(0, 300)}.`);
    }
    return { status: res.status, body, headers: res.headers };
  }

  /** Delivers one batch (one event unless output batching is configured), retrying as the service does. */
  async deliver(events: Record<string, unknown>[]): Promise<DeliveryOutcome> {
    const delays = this.#o.retryDelaysMs ?? [100, 300, 600, 3000];
    const maxAttempts = this.#o.maxDeliveryAttempts ?? 5;
    const attempts: DeliveryAttempt[] = [];
    const cloud = this.#o.schema === 'CloudEventSchemaV1_0';
    const single = cloud && events.length === 1;
    const contentType = cloud
      ? single
        ? 'application/cloudevents+json; charset=utf-8'
        : 'application/cloudevents-batch+json; charset=utf-8'
      : 'application/json';
    const body = JSON.stringify(single ? events[0] : events);
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(delays[Math.min(attempt - 1, delays.length - 1)] ?? 0);
      this.#deliveries += 1;
      const result = await this.#post(body, contentType, attempt);
      attempts.push(result);
      if (typeof result.status === 'number') {
        if (result.status >= 200 && result.status <= 204) return { outcome: 'delivered', attempts };
        if (NO_RETRY.has(result.status)) return { outcome: 'dead-lettered', attempts, reason: 'no-retry-status' };
      }
    }
    return { outcome: 'dead-lettered', attempts, reason: 'attempts-exhausted' };
  }

  /** Requests sent so far (deliveries and retries, not handshakes). */
  get deliveries(): number {
    return this.#deliveries;
  }

  async #post(body: string, contentType: string, deliveryCount: number): Promise<DeliveryAttempt> {
    try {
      const res = await fetch(this.#o.endpointUrl, {
        method: 'POST',
        headers: {
          ...(await this.#authHeaders()),
          'content-type': contentType,
          'aeg-event-type': 'Notification',
          'aeg-subscription-name': this.#o.subscriptionName.toUpperCase(),
          'aeg-delivery-count': String(deliveryCount),
          'aeg-metadata-version': '1',
        },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 30_000),
      });
      return { status: res.status, body: await res.text() };
    } catch (error) {
      const name = (error as Error).name;
      return { status: name === 'TimeoutError' ? 'timeout' : 'network-error', body: (error as Error).message };
    }
  }

  async #authHeaders(): Promise<Record<string, string>> {
    const headers: Record<string, string> = { ...this.#o.headers };
    if (this.#o.bearerToken) headers.authorization = `Bearer ${await this.#o.bearerToken()}`;
    return headers;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

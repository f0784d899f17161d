import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { EventGridSenderClient, AzureKeyCredential as NamespaceKeyCredential } from '@azure/eventgrid-namespaces';
import { type DeliveryContext, DeliveryError, type WriteBackTargetHandler } from '@mcp-broker/broker';
import type { EventGridTopic } from '@mcp-broker/broker-config';
import type { EventGridTarget } from '@mcp-broker/contracts';
import { isMcpCallError, type TokenProviderOptions } from '@mcp-broker/mcp-client';
import { networkErrorCode, parseRetryAfter } from '@mcp-broker/resilience';
import { type ResolvedCredential, resolveCredential } from '../event-grid-credential.ts';
import { type OutcomeCloudEvent, outcomeCloudEvent } from './outcome-cloud-event.ts';

export interface EventGridTargetOptions {
  topics: readonly EventGridTopic[];
  /** Where access keys and client secrets resolve (main.ts passes process.env). */
  env: Record<string, string | undefined>;
  /** For the client-credentials token endpoint; default the global fetch. */
  fetch?: TokenProviderOptions['fetch'];
  /** Replaces the `@azure/identity` credential of workload and managed identities (tests). */
  azureCredential?: TokenProviderOptions['azureCredential'];
}

type Publish = (event: OutcomeCloudEvent, signal: AbortSignal) => Promise<void>;

/**
 * The `event-grid` write-back target: publishes the outcome as one CloudEvent to a configured
 * custom topic (`EventGridPublisherClient`, CloudEvents input schema) or namespace topic
 * (`EventGridSenderClient`). The SDK's own retries are off: the broker's write-back retry policy
 * decides, so an attempt is one request and is counted as one. 429, 408, 5xx and network
 * failures are transient; 400, 401, 403, 404 and 413 are final.
 */
export class EventGridTargetHandler implements WriteBackTargetHandler<EventGridTarget> {
  readonly type = 'event-grid' as const;
  readonly #topics: Map<string, EventGridTopic>;
  readonly #options: EventGridTargetOptions;
  readonly #clients = new Map<string, Publish>();

  constructor(options: EventGridTargetOptions) {
    this.#options = options;
    this.#topics = new Map(options.topics.map((t) => [t.id, t]));
  }

  async deliver(target: EventGridTarget, context: DeliveryContext): Promise<Record<string, unknown>> {
    const { record } = context;
    const topic = this.#topics.get(target.topic);
    if (!topic?.callers.includes(record.caller)) {
      throw new DeliveryError(
        'permanent',
        'EVENT_GRID_TOPIC_NOT_ALLOWED',
        topic
          ? `Event Grid topic "${target.topic}" is not open to caller "${record.caller}" (eventGrid.topics[].callers).`
          : `No Event Grid topic "${target.topic}" is configured (eventGrid.topics[].id).`,
      );
    }
    const event = outcomeCloudEvent(record, target, context.targetIndex, topic);
    try {
      await this.#client(topic)(event, context.signal);
    } catch (error) {
      throw classify(error, topic, context.signal);
    }
    return { eventId: event.id, eventType: event.type, topic: topic.id };
  }

  #client(topic: EventGridTopic): Publish {
    let publish = this.#clients.get(topic.id);
    if (publish) return publish;
    let credential: ResolvedCredential;
    try {
      credential = resolveCredential(topic.credential, {
        env: this.#options.env,
        ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
        ...(this.#options.azureCredential ? { azureCredential: this.#options.azureCredential } : {}),
      });
    } catch (error) {
      throw new DeliveryError(
        'permanent',
        'EVENT_GRID_CREDENTIAL_FAILED',
        `Event Grid topic "${topic.id}": ${(error as Error).message}`,
      );
    }
    const noRetries = { retryOptions: { maxRetries: 0 } };
    if (topic.kind === 'topic') {
      const client = new EventGridPublisherClient(
        topic.endpoint,
        'CloudEvent',
        credential.kind === 'key' ? new AzureKeyCredential(credential.key) : credential.credential,
        noRetries,
      );
      publish = async (event, signal) => {
        const { traceparent, ...attributes } = event;
        await client.send([{ ...attributes, ...(traceparent ? { extensionAttributes: { traceparent } } : {}) }], {
          abortSignal: signal,
        });
      };
    } else {
      const client = new EventGridSenderClient(
        topic.endpoint,
        credential.kind === 'key' ? new NamespaceKeyCredential(credential.key) : credential.credential,
        topic.namespaceTopic as string,
        noRetries,
      );
      publish = async (event, signal) => {
        const { traceparent, datacontenttype, ...attributes } = event;
        await client.sendEvents(
          {
            ...attributes,
            dataContentType: datacontenttype,
            ...(traceparent ? { extensionAttributes: { traceparent } } : {}),
          },
          { abortSignal: signal },
        );
      };
    }
    this.#clients.set(topic.id, publish);
    return publish;
  }
}

const FINAL = {
  400: 'EVENT_GRID_REJECTED',
  401: 'EVENT_GRID_UNAUTHORIZED',
  403: 'EVENT_GRID_FORBIDDEN',
  404: 'EVENT_GRID_NOT_FOUND',
  413: 'EVENT_GRID_TOO_LARGE',
} as const;

/** Refused before anything was sent: the publish cannot have happened. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function classify(error: unknown, topic: EventGridTopic, signal: AbortSignal): DeliveryError {
  const where = `Event Grid topic "${topic.id}"`;
  if (isMcpCallError(error)) {
    return error.kind === 'permanent'
      ? new DeliveryError('permanent', 'EVENT_GRID_CREDENTIAL_FAILED', `${where}: ${error.message}`)
      : new DeliveryError(
          'transient',
          'EVENT_GRID_CREDENTIAL_UNAVAILABLE',
          `${where}: ${error.message}`,
          error.retryAfterMs,
        );
  }
  const { statusCode, code, message, response } = error as {
    statusCode?: number;
    code?: string;
    message?: string;
    response?: { headers?: { get(name: string): string | undefined } };
  };
  const text = (message ?? String(error)).split('\n')[0]?.slice(0, 400) ?? '';
  if (typeof statusCode === 'number') {
    const service = `${where} answered HTTP ${statusCode}${code ? ` ${code}` : ''}: ${text}`;
    if (statusCode === 429) {
      return new DeliveryError(
        'transient',
        'EVENT_GRID_THROTTLED',
        service,
        parseRetryAfter(response?.headers?.get('retry-after')),
      );
    }
    if (statusCode === 408 || statusCode >= 500) {
      return new DeliveryError(
        'transient',
        'EVENT_GRID_UNAVAILABLE',
        service,
        parseRetryAfter(response?.headers?.get('retry-after')),
        {
          unconfirmed: true,
        },
      );
    }
    const final = FINAL[statusCode as keyof typeof FINAL] ?? 'EVENT_GRID_REJECTED';
    return new DeliveryError('permanent', final, service);
  }
  if (signal.aborted || (error as Error).name === 'AbortError') {
    return new DeliveryError('transient', 'EVENT_GRID_UNREACHABLE', `${where} did not answer in time.`, undefined, {
      unconfirmed: true,
    });
  }
  const network = networkErrorCode(error) ?? code;
  return new DeliveryError(
    'transient',
    'EVENT_GRID_UNREACHABLE',
    `${where} could not be reached${network ? ` (${network})` : ''}: ${text}`,
    undefined,
    {
      unconfirmed: !(network && NOT_SENT.has(network)),
    },
  );
}

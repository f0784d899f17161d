import {
  badRequest,
  cloudEventProblem,
  eventGridEventProblem,
  isObject,
  MAX_PUBLISH_BYTES,
} from './event-validation.ts';
import {
  type Fault,
  type HttpsEndpoint,
  type SandboxRequest,
  type SandboxResponse,
  startHttpsEndpoint,
} from './https-endpoint.ts';
import { checkTopicAuth, header, type SandboxAccess } from './service-auth.ts';
import type { SelfSignedCertificate } from './tls-certificate.ts';

/** A custom topic as created in Azure: its input schema and who may publish. */
export interface SandboxTopicConfig {
  name: string;
  inputSchema: 'EventGridSchema' | 'CloudEventSchemaV1_0';
  access: SandboxAccess;
}

export interface PublishedEvent {
  topic: string;
  event: Record<string, unknown>;
  contentType: string;
  receivedAt: Date;
}

export interface EventGridTopicSandbox {
  url: string;
  certificate: SelfSignedCertificate;
  /** The endpoint an `EventGridPublisherClient` is given for the topic. */
  endpointFor(topic: string): string;
  /** Events accepted so far, oldest first. */
  published(topic?: string): PublishedEvent[];
  /** Every request that reached the topic (accepted or not), for counting attempts. */
  readonly requests: { topic: string; status: number }[];
  failNext(count: number, fault: Fault): void;
  close(): Promise<void>;
}

const API_VERSIONS = new Set(['2018-01-01']);

/**
 * A stand-in for Event Grid custom topics (`POST https://<topic>.<region>-1.eventgrid.azure.net/api/events`),
 * checking what the service checks before it accepts a batch: the api-version, the credential, the
 * content type of the topic's input schema, the 1 MB limit and each event's required attributes.
 * A refused batch is refused whole, as the service does.
 */
export async function startEventGridTopicSandbox(options: {
  topics: SandboxTopicConfig[];
  certificate?: SelfSignedCertificate;
}): Promise<EventGridTopicSandbox> {
  const topics = new Map(options.topics.map((t) => [t.name, t]));
  const published: PublishedEvent[] = [];
  const requests: { topic: string; status: number }[] = [];
  let endpoint: HttpsEndpoint | undefined;

  async function handle(request: SandboxRequest): Promise<SandboxResponse> {
    const match = /^\/topics\/([^/]+)\/api\/events$/.exec(request.path);
    const topic = match ? topics.get(decodeURIComponent(match[1] ?? '')) : undefined;
    const answer = topic ? await publish(topic, request) : notFound(request.path);
    requests.push({ topic: topic?.name ?? '', status: answer.status });
    return answer;
  }

  async function publish(topic: SandboxTopicConfig, request: SandboxRequest): Promise<SandboxResponse> {
    if (request.method !== 'POST')
      return { status: 405, body: { error: { code: 'MethodNotAllowed', message: 'Use POST.' } } };
    const apiVersion = request.query.get('api-version');
    if (!apiVersion || !API_VERSIONS.has(apiVersion)) {
      return badRequest('InvalidApiVersion', `The api-version "${apiVersion ?? ''}" is not supported; use 2018-01-01.`);
    }
    const auth = await checkTopicAuth(request, topic.access, `${endpoint?.url}/topics/${topic.name}/api/events`);
    if (!auth.ok) return auth.response;
    if (request.body.length > MAX_PUBLISH_BYTES) {
      return {
        status: 413,
        body: {
          error: {
            code: 'RequestEntityTooLarge',
            message: `The maximum size (${MAX_PUBLISH_BYTES}) has been exceeded.`,
          },
        },
      };
    }
    const contentType = (header(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const cloud = topic.inputSchema === 'CloudEventSchemaV1_0';
    const allowed = cloud
      ? ['application/cloudevents-batch+json', 'application/cloudevents+json']
      : ['application/json'];
    if (!allowed.includes(contentType)) {
      return badRequest(
        'InvalidContentType',
        `Content-Type "${contentType}" does not match the topic's input schema ${topic.inputSchema}; send ${allowed.join(' or ')}.`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.body.toString('utf8'));
    } catch {
      return badRequest('InputJsonInvalid', 'The request body is not valid JSON.');
    }
    const single = contentType === 'application/cloudevents+json';
    if (!single && !Array.isArray(parsed))
      return badRequest('InputJsonInvalid', 'The request body must be a JSON array of events.');
    const events = single ? [parsed] : (parsed as unknown[]);
    if (events.length === 0) return badRequest('InputJsonInvalid', 'The batch has no events.');
    for (const [index, event] of events.entries()) {
      const problem = cloud ? cloudEventProblem(event, index) : eventGridEventProblem(event, index);
      if (problem) return badRequest('InputJsonInvalid', problem);
    }
    const receivedAt = new Date();
    for (const event of events as Record<string, unknown>[]) {
      const stored = cloud
        ? event
        : {
            ...event,
            topic: `/subscriptions/sandbox/resourceGroups/sandbox/providers/Microsoft.EventGrid/topics/${topic.name}`,
            metadataVersion: '1',
          };
      published.push({ topic: topic.name, event: isObject(stored) ? stored : {}, contentType, receivedAt });
    }
    return { status: 200 };
  }

  endpoint = await startHttpsEndpoint(handle, options.certificate);
  const url = endpoint.url;
  return {
    url,
    certificate: endpoint.certificate,
    endpointFor: (topic) => `${url}/topics/${encodeURIComponent(topic)}/api/events`,
    published: (topic) => published.filter((p) => topic === undefined || p.topic === topic),
    requests,
    failNext: (count, fault) => endpoint?.failNext(count, fault),
    close: () => endpoint?.close() ?? Promise.resolve(),
  };
}

function notFound(path: string): SandboxResponse {
  return { status: 404, body: { error: { code: 'NotFound', message: `No topic at ${path.slice(0, 200)}.` } } };
}

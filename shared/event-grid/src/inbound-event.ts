import { EventGridDeserializer } from '@azure/eventgrid';

/** One event as the broker routes it, whichever schema it arrived in. */
export interface InboundEvent {
  schema: 'event-grid' | 'cloudevents';
  id: string;
  /** `eventType` (Event Grid schema) or `type` (CloudEvents). */
  type: string;
  subject: string | undefined;
  /** `topic` (Event Grid schema) or `source` (CloudEvents). */
  source: string | undefined;
  time: string | undefined;
  data: unknown;
  /** W3C trace context, when the CloudEvent carries the distributed-tracing extension. */
  traceparent: string | undefined;
}

/** An event the deserializer refused: where (`body[i].attribute`) and why. */
export class InboundEventProblem extends Error {
  override readonly name = 'InboundEventProblem';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

export const VALIDATION_EVENT_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent';

const deserializer = new EventGridDeserializer();

/**
 * Reads the events of one delivery with the SDK's `EventGridDeserializer`, which checks each
 * event's required attributes and spec version. `events` is the parsed body: an array (Event Grid
 * schema, or a CloudEvents batch) or one object (a structured CloudEvent). Each event is handed to
 * the deserializer alone, so a refusal names its index.
 */
export async function readInboundEvents(
  events: unknown,
  schema: 'event-grid' | 'cloudevents',
): Promise<InboundEvent[]> {
  const list = Array.isArray(events) ? events : [events];
  if (list.length === 0) throw new InboundEventProblem('body', 'the delivery holds no events');
  const read: InboundEvent[] = [];
  for (const [index, raw] of list.entries()) {
    const at = Array.isArray(events) ? `body[${index}]` : 'body';
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new InboundEventProblem(at, 'an event must be a JSON object');
    }
    read.push(
      schema === 'cloudevents'
        ? await cloudEvent(raw as Record<string, unknown>, at)
        : await eventGridEvent(raw as Record<string, unknown>, at),
    );
  }
  return read;
}

/** The schema a body is in: CloudEvents by its content type, or an array whose events carry `specversion`. */
export function schemaOf(contentType: string, body: unknown): 'event-grid' | 'cloudevents' {
  if (contentType === 'application/cloudevents+json' || contentType === 'application/cloudevents-batch+json') {
    return 'cloudevents';
  }
  const first = Array.isArray(body) ? body[0] : body;
  return typeof first === 'object' && first !== null && 'specversion' in first ? 'cloudevents' : 'event-grid';
}

async function eventGridEvent(raw: Record<string, unknown>, at: string): Promise<InboundEvent> {
  let event: Awaited<ReturnType<EventGridDeserializer['deserializeEventGridEvents']>>[number] | undefined;
  try {
    [event] = await deserializer.deserializeEventGridEvents(raw);
  } catch (error) {
    throw problem(error, at);
  }
  if (!event) throw new InboundEventProblem(at, 'not an Event Grid event');
  return {
    schema: 'event-grid',
    id: event.id,
    type: event.eventType,
    subject: event.subject,
    source: event.topic,
    time: typeof raw.eventTime === 'string' ? raw.eventTime : undefined,
    data: event.data,
    traceparent: undefined,
  };
}

async function cloudEvent(raw: Record<string, unknown>, at: string): Promise<InboundEvent> {
  let event: Awaited<ReturnType<EventGridDeserializer['deserializeCloudEvents']>>[number] | undefined;
  try {
    [event] = await deserializer.deserializeCloudEvents(raw);
  } catch (error) {
    throw problem(error, at);
  }
  if (!event) throw new InboundEventProblem(at, 'not a CloudEvent');
  if (event.data instanceof Uint8Array) {
    throw new InboundEventProblem(`${at}.data_base64`, 'binary data cannot become tool arguments; send JSON data');
  }
  const traceparent = event.extensionAttributes?.traceparent;
  return {
    schema: 'cloudevents',
    id: event.id,
    type: event.type,
    subject: event.subject,
    source: event.source,
    time: typeof raw.time === 'string' ? raw.time : undefined,
    data: event.data,
    traceparent: typeof traceparent === 'string' ? traceparent : undefined,
  };
}

/** The deserializer's messages name the attribute in quotes (`missing required property 'subject'`). */
function problem(error: unknown, at: string): InboundEventProblem {
  const message = error instanceof Error ? error.message : String(error);
  const attribute = /property '([A-Za-z0-9_]+)/.exec(message)?.[1];
  return new InboundEventProblem(attribute ? `${at}.${attribute}` : at, message);
}

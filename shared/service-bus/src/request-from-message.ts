/**
 * A received Service Bus message → the one request shape the broker core accepts. Pure: the
 * receiver settles by what `accept` says of the result.
 *
 * - The body is the JSON object `serviceBusToolCallMessageSchema` describes, as the SDK decoded it
 *   (an object), or JSON text in a string or bytes.
 * - The idempotency key: the source's `idempotencyProperty` when configured, else the body's
 *   `idempotencyKey`, else the message's `messageId`. Keys taken from the message are prefixed with
 *   the source id (`sb:<source>:<value>`), so they cannot meet an API client's keys of the same caller.
 * - A message that is not a request gives a `refusal` (SERVICE_BUS_MESSAGE_MALFORMED) naming the
 *   field: accept records it as a failed call and the receiver dead-letters the message.
 */

import type { ServiceBusSource } from '@mcp-broker/broker-config';
import { serviceBusToolCallMessageSchema, type ToolCallRequest } from '@mcp-broker/contracts';

/** What the mapping reads of a received message (the SDK's `ServiceBusReceivedMessage` fits). */
export interface ReceivedRequestMessage {
  body: unknown;
  messageId?: string | number | Buffer | undefined;
  correlationId?: string | number | Buffer | undefined;
  applicationProperties?: Record<string, unknown> | undefined;
  sequenceNumber?: { toString(): string } | undefined;
}

export interface MappedRequest {
  request: ToolCallRequest;
  /** Set when the message is not a usable request: accept records this instead of checking the request. */
  refusal?: { code: 'SERVICE_BUS_MESSAGE_MALFORMED'; message: string };
}

export type RequestSource = Pick<ServiceBusSource, 'id' | 'idempotencyProperty' | 'queue' | 'topic' | 'subscription'>;

const MAX_KEY = 255;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function requestFromMessage(message: ReceivedRequestMessage, source: RequestSource): MappedRequest {
  const messageId = idText(message.messageId);
  const base = {
    source: { kind: 'service-bus' as const, reference: referenceOf(source, message) },
    correlation: correlationOf(message, messageId),
  };
  const body = decodeBody(message.body);
  const parsed = body.ok ? serviceBusToolCallMessageSchema.safeParse(body.value) : undefined;
  const key = keyOf(message, source, parsed?.success ? parsed.data.idempotencyKey : undefined, messageId);
  const fallbackKey = key.ok ? key.value : `sb:${source.id}:seq:${message.sequenceNumber?.toString() ?? 'unknown'}`;
  const refused = (problem: string): MappedRequest => ({
    request: { tool: '', arguments: {}, writeBack: [], idempotencyKey: fallbackKey, ...base },
    refusal: {
      code: 'SERVICE_BUS_MESSAGE_MALFORMED',
      message: `Service Bus message ${messageId ?? '(no id)'}: ${problem}`,
    },
  });
  if (!body.ok) return refused(body.problem);
  if (!parsed?.success) {
    const issue = parsed?.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : 'body';
    return refused(`${field}: ${issue?.message ?? 'not a tool-call request'}`);
  }
  if (!key.ok) return refused(key.problem);
  const { tool, arguments: args, writeBack } = parsed.data;
  return { request: { tool, arguments: args, writeBack, idempotencyKey: key.value, ...base } };
}

type Decoded = { ok: true; value: unknown } | { ok: false; problem: string };

function decodeBody(body: unknown): Decoded {
  if (body instanceof Uint8Array) return parseJson(Buffer.from(body).toString('utf8'));
  if (typeof body === 'string') return parseJson(body);
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) return { ok: true, value: body };
  return {
    ok: false,
    problem: `body: expected a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
  };
}

function parseJson(text: string): Decoded {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { ok: true, value };
    return { ok: false, problem: 'body: expected a JSON object' };
  } catch {
    return { ok: false, problem: 'body: not JSON' };
  }
}

type Key = { ok: true; value: string } | { ok: false; problem: string };

function keyOf(
  message: ReceivedRequestMessage,
  source: RequestSource,
  fromBody: string | undefined,
  messageId: string | undefined,
): Key {
  if (source.idempotencyProperty) {
    const raw = message.applicationProperties?.[source.idempotencyProperty];
    const value = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : '';
    if (!value) {
      return {
        ok: false,
        problem: `applicationProperties.${source.idempotencyProperty}: required (the idempotency key)`,
      };
    }
    return prefixed(source, value);
  }
  if (fromBody) return { ok: true, value: fromBody };
  if (!messageId) return { ok: false, problem: 'messageId: required (the idempotency key)' };
  return prefixed(source, messageId);
}

function prefixed(source: RequestSource, value: string): Key {
  const key = `sb:${source.id}:${value}`;
  if (key.length > MAX_KEY) return { ok: false, problem: `the idempotency key is longer than ${MAX_KEY} characters` };
  return { ok: true, value: key };
}

function idText(id: ReceivedRequestMessage['messageId']): string | undefined {
  if (id === undefined || id === null) return undefined;
  return Buffer.isBuffer(id) ? id.toString('hex') : String(id);
}

function referenceOf(source: RequestSource, message: ReceivedRequestMessage): string {
  const entity = source.queue ?? `${source.topic}/Subscriptions/${source.subscription}`;
  return `${source.id}:${entity}#${message.sequenceNumber?.toString() ?? '?'}`.slice(0, 512);
}

/**
 * The request id is the message's own id: a reply's correlationId then names the request message,
 * as Service Bus request/reply does. The trace context comes from `Diagnostic-Id` (what the SDKs
 * set) or `traceparent`, when it is W3C trace context.
 */
function correlationOf(message: ReceivedRequestMessage, messageId: string | undefined): ToolCallRequest['correlation'] {
  const props = message.applicationProperties ?? {};
  const candidate = props['Diagnostic-Id'] ?? props.traceparent;
  const traceparent = typeof candidate === 'string' && TRACEPARENT.test(candidate) ? candidate : undefined;
  const requestId = (
    messageId ??
    idText(message.correlationId) ??
    `sb-${message.sequenceNumber?.toString() ?? 'unknown'}`
  ).slice(0, 255);
  return { requestId, ...(traceparent ? { traceparent } : {}) };
}

import { createHash } from 'node:crypto';
import type { CallerConfig } from '@mcp-broker/broker-config';
import type { BrokerError, RecordErrorCode, WriteBackTarget } from '@mcp-broker/contracts';
import type { RoutedCall } from './event-router.ts';
import type { InboundEvent } from './inbound-event.ts';

/** The request every source hands the broker core (`ToolCallRequest` of the contracts). */
export interface EventGridToolCallRequest {
  tool: string;
  arguments: Record<string, unknown>;
  writeBack: WriteBackTarget[];
  idempotencyKey: string;
  source: { kind: 'event-grid'; reference?: string };
  correlation: { requestId: string; traceparent?: string };
}

export type EventGridAcceptance =
  | { outcome: 'queued' | 'duplicate'; record: { id: string } }
  | { outcome: 'refused'; reason: BrokerError; record?: { id: string } };

/**
 * The broker core's intake as the Event Grid sources use it (`intake.accept`): it throws only for
 * transient trouble, so a source that sees a throw must not acknowledge the event.
 */
export interface ToolCallAcceptor {
  accept(
    caller: CallerConfig,
    request: EventGridToolCallRequest,
    options?: { refusal?: { code: RecordErrorCode; message: string }; recordRefusal?: boolean },
  ): Promise<EventGridAcceptance>;
}

const MAX_KEY = 255;

/**
 * Subscription and event id: Event Grid redelivers an event with the same id, so a redelivery (or
 * the same event arriving by push and by a retry) is one call. An id too long for the key is hashed.
 */
export function idempotencyKeyOf(kind: 'push' | 'pull', subscription: string, eventId: string): string {
  const key = `eventgrid:${kind}:${subscription}:${eventId}`;
  if (key.length <= MAX_KEY) return key;
  return `eventgrid:${kind}:${subscription}:sha256:${createHash('sha256').update(eventId).digest('hex')}`;
}

export function requestOf(
  call: Pick<RoutedCall, 'tool' | 'arguments' | 'writeBack'>,
  event: InboundEvent,
  key: string,
  correlation: { requestId: string; traceparent?: string | undefined },
): EventGridToolCallRequest {
  const traceparent = event.traceparent ?? correlation.traceparent;
  return {
    tool: call.tool,
    arguments: call.arguments,
    writeBack: call.writeBack,
    idempotencyKey: key,
    source: { kind: 'event-grid', reference: `${key.slice('eventgrid:'.length)}`.slice(0, 512) },
    correlation: { requestId: correlation.requestId, ...(traceparent ? { traceparent } : {}) },
  };
}

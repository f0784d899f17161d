import type { MappedEvent } from './platform-event.ts';

/** Where an event was read: the org (configuration id), the channel and the event's replay id. */
export interface EventPosition {
  org: string;
  channel: string;
  replayId: number;
}

/** An event that did not become a tool call, with why. */
export interface EventRejection extends EventPosition {
  eventUuid?: string;
  /** `EVENT_*` from the mapping, or the sink's own refusal code (`BROKER_TOOL_NOT_ALLOWED`…). */
  code: string;
  reason: string;
  /** What the mapping understood before it failed (write-back targets may receive a failed result). */
  partial?: Partial<MappedEvent>;
}

/**
 * Where mapped events go. The connector waits for each call before it moves the checkpoint, so an
 * implementation must be durable when it resolves.
 */
export interface ToolCallSink {
  /**
   * Records and enqueues the call (idempotent by `idempotencyKey`); throws an error with a `code`
   * when the request is refused (unknown tool, not allowed, invalid arguments). Any other error
   * (store down…) means "try again": the event is delivered again later.
   */
  submit(request: MappedEvent, context: EventPosition): Promise<{ id: string; created: boolean }>;
  /** Stores a rejected event (and lets its write-back targets receive a failed result). Must not throw for bad events. */
  reject(rejection: EventRejection): Promise<void>;
}

/**
 * The error codes that mean "this request will never be accepted": the event is rejected and
 * checkpointed rather than retried. Everything else is retried from the checkpoint: rate limits,
 * `BROKER_NOT_READY`, `BROKER_INTERNAL`, `BROKER_UPSTREAM_UNAVAILABLE` (the tool list could not be
 * checked), `BROKER_IDEMPOTENCY_IN_PROGRESS`, and errors without a code.
 */
export const REFUSAL_CODES: ReadonlySet<string> = new Set([
  'BROKER_TOOL_NOT_FOUND',
  'BROKER_TOOL_NOT_ALLOWED',
  'BROKER_TOOL_FORBIDDEN',
  'BROKER_INVALID_ARGUMENTS',
  'BROKER_VALIDATION_FAILED',
  'BROKER_CALLBACK_NOT_ALLOWED',
  'BROKER_WRITE_BACK_NOT_ALLOWED',
  'BROKER_IDEMPOTENCY_KEY_MISSING',
  'BROKER_IDEMPOTENCY_KEY_REUSED',
]);

/** Whether a `submit` error is a refusal (see `REFUSAL_CODES`). */
export function isRefusal(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REFUSAL_CODES.has(code);
}

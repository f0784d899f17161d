import type { ToolCallRecord, WriteBackTarget } from '@mcp-broker/contracts';

/** A delivery failure: `transient` ones are retried with backoff, `permanent` ones are final. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly kind: 'transient' | 'permanent';
  readonly code: string;
  readonly retryAfterMs: number | undefined;
  constructor(kind: 'transient' | 'permanent', code: string, message: string, retryAfterMs?: number) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export interface DeliveryContext {
  record: ToolCallRecord;
  /** Index of the target on the record; with the call id it names the delivery. */
  targetIndex: number;
  signal: AbortSignal;
}

/** One kind of write-back target. `deliver` must be safe to repeat (receivers get an idempotency key). */
export interface WriteBackTargetHandler<T extends WriteBackTarget = WriteBackTarget> {
  readonly type: T['type'];
  deliver(target: T, context: DeliveryContext): Promise<Record<string, unknown>>;
}

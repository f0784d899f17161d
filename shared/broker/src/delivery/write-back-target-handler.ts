import type { FailureCode, ToolCallRecord, WriteBackTarget } from '@mcp-broker/contracts';

/**
 * A delivery failure: `transient` ones are retried with backoff, `permanent` ones are final.
 * `unconfirmed`: the request had been sent when the attempt failed (a timeout waiting for the
 * answer, a connection lost after the body went out), so the target may have received it.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly kind: 'transient' | 'permanent';
  /** A catalog code (`failure-codes.ts`), or a Salesforce pass-through: an uncatalogued code does not compile. */
  readonly code: FailureCode;
  readonly retryAfterMs: number | undefined;
  readonly unconfirmed: boolean;
  constructor(
    kind: 'transient' | 'permanent',
    code: FailureCode,
    message: string,
    retryAfterMs?: number,
    options: { unconfirmed?: boolean } = {},
  ) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.unconfirmed = options.unconfirmed ?? false;
  }
}

export interface DeliveryContext {
  record: ToolCallRecord;
  /** Index of the target on the record; with the call id it names the delivery. */
  targetIndex: number;
  signal: AbortSignal;
}

/**
 * One kind of write-back target. `deliver` must be safe to repeat: delivery is at least once (an
 * attempt cut short by a crash or a timeout is made again), so receivers get a stable key.
 */
export interface WriteBackTargetHandler<T extends WriteBackTarget = WriteBackTarget> {
  readonly type: T['type'];
  /**
   * How long one attempt at this target may take, in ms, when the target sets it (an
   * http-callback's `timeoutMs`); undefined leaves the budget of wherever the attempt runs.
   */
  timeoutFor?(target: T): number | undefined;
  deliver(target: T, context: DeliveryContext): Promise<Record<string, unknown>>;
}

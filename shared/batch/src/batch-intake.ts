import type { CallerConfig } from '@mcp-broker/broker-config';
import type { ToolCallRecord, WriteBackTarget } from '@mcp-broker/contracts';

/** The request a run hands to the broker core for one record (the shape of `accept()`'s request). */
export interface BatchCallRequest {
  tool: string;
  arguments: Record<string, unknown>;
  writeBack: WriteBackTarget[];
  idempotencyKey: string;
  source: ToolCallRecord['source'];
  correlation: { requestId: string; traceparent?: string };
}

/** What `accept()` answers; a refusal's reason carries a stable code. */
export type BatchAcceptance =
  | { outcome: 'queued' | 'duplicate'; record: ToolCallRecord }
  | { outcome: 'refused'; reason: { code: string; message: string }; record?: ToolCallRecord };

/**
 * The one call through which every source hands a call to the broker core (`intake.accept`): the
 * run never checks allowlists, arguments or idempotency itself. It throws only for transient
 * trouble (store or Redis down), which the run job meets by retrying from its checkpoint.
 */
export interface BatchIntake {
  accept(caller: CallerConfig, request: BatchCallRequest): Promise<BatchAcceptance>;
}

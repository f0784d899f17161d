import { z } from 'zod';
import { toolCallStatusSchema } from './tool-call.ts';
import { writeBackTargetSchema } from './write-back-target.ts';

/**
 * The body of a Service Bus message that asks for a tool call (docs/service-bus.md). The message's
 * `messageId` (or the source's configured application property) is the idempotency key unless the
 * body names one, so a redelivered message is one call.
 */
export const serviceBusToolCallMessageSchema = z.strictObject({
  tool: z.string().min(1).max(128),
  arguments: z.record(z.string(), z.unknown()).default({}),
  writeBack: z.array(writeBackTargetSchema).max(10).default([]),
  idempotencyKey: z.string().min(1).max(255).optional(),
});
export type ServiceBusToolCallMessage = z.infer<typeof serviceBusToolCallMessageSchema>;

/**
 * The body of the message a `service-bus` write-back target sends. The message itself carries
 * `messageId` (derived from the call, its target and replay generation), `correlationId` (the
 * request's id), `subject` (`<prefix>.<status>`) and the application properties `caller`, `tool`,
 * `status`, `callId` (and `errorCode` on a failure) for subscription filters.
 */
export const serviceBusOutcomeMessageSchema = z.object({
  callId: z.string(),
  caller: z.string(),
  tool: z.string(),
  status: toolCallStatusSchema,
  idempotencyKey: z.string(),
  /** The tool's result when it fits `inlineResultMaxBytes`. */
  result: z.unknown().optional(),
  /** True when the result was too large to travel here: read it from the call (`GET /v1/tool-calls/{callId}`). */
  resultOmitted: z.boolean().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  completedAt: z.string().optional(),
});
export type ServiceBusOutcomeMessage = z.infer<typeof serviceBusOutcomeMessageSchema>;

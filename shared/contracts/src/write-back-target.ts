import { z } from 'zod';

/** Where a tool call's result is delivered. One job (and one delivery record) per target. */
export const httpCallbackTargetSchema = z.object({
  type: z.literal('http-callback'),
  /** HTTPS URL on the caller's allowlist of callback hosts. */
  url: z.url().max(2048).describe("Callback URL; its host must be on the caller's allowlist."),
});

export const writeBackTargetSchema = z.discriminatedUnion('type', [httpCallbackTargetSchema]);
export type WriteBackTarget = z.infer<typeof writeBackTargetSchema>;
export type HttpCallbackTarget = z.infer<typeof httpCallbackTargetSchema>;

export const deliveryStatusSchema = z.enum(['pending', 'delivered', 'failed']);

/** The delivery state of one write-back target, kept on the tool-call record. */
export const deliverySchema = z.object({
  target: writeBackTargetSchema,
  status: deliveryStatusSchema,
  attempts: z.number().int().nonnegative(),
  lastError: z.object({ code: z.string(), message: z.string() }).optional(),
  deliveredAt: z.iso.datetime().optional(),
  /** Target-specific receipt (e.g. the callback's HTTP status). */
  receipt: z.record(z.string(), z.unknown()).optional(),
});
export type Delivery = z.infer<typeof deliverySchema>;

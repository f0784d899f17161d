import type { z } from 'zod';
import { toolCallIdSchema } from './tool-call.ts';

/**
 * The message on the cancel channel (Redis pub/sub, ingress → every worker replica): the id of the
 * call to abort, as plain text. Plain text rather than JSON so that replicas of the previous release,
 * which publish and expect the bare id, keep working during a rolling upgrade. Anything else on the
 * channel (another publisher, a typo in a manual `PUBLISH`) is not a call id and is ignored.
 */
export const cancelMessageSchema = toolCallIdSchema;
export type CancelMessage = z.infer<typeof cancelMessageSchema>;

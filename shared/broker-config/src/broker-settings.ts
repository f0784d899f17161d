import { z } from 'zod';

/**
 * Settings ingress and the worker must set alike: both queue jobs (attempts are stored on the job
 * when it is queued), both create records (retention), and both address the same Redis keys,
 * channels and queues (key prefix). They live in the broker configuration file, which both load,
 * so the two services cannot disagree.
 */
export const brokerSettingsSchema = z.strictObject({
  /** Prefix of every Redis key, channel and BullMQ queue of the broker; deployments sharing a Redis differ here. */
  keyPrefix: z.string().min(1).default('mcpb:'),
  /** Attempts per tool call, the first included; stored on the job when it is queued. */
  toolCallAttempts: z.number().int().min(1).max(50).default(5),
  /** Attempts per write-back target, after the first attempt the tool-call job makes. */
  writeBackAttempts: z.number().int().min(1).max(50).default(8),
  /** Days tool-call records (and with them their idempotency keys) are kept: the Cosmos TTL. */
  retentionDays: z.number().positive().default(30),
  /**
   * The worker marks a call `running` only once it has run this long, in ms; a call that ends
   * sooner is stored queued → outcome in one write (its history still shows the start). 0 writes
   * `running` before every call. Only the worker reads it; it is here with the record's other rules.
   */
  runningWriteAfterMs: z.number().int().min(0).max(60_000).default(250),
});
export type BrokerSettings = z.infer<typeof brokerSettingsSchema>;

export const defaultBrokerSettings: BrokerSettings = brokerSettingsSchema.parse({});

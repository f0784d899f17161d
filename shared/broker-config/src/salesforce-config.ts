import { z } from 'zod';
import { configIdSchema } from './config-id.ts';
import { secretRefSchema } from './secret-ref.ts';

const id = configIdSchema;

/** How the broker authenticates to a connected org. */
export const salesforceAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('client-credentials'),
    /** Connected app / external client app consumer key. */
    clientId: z.string().min(1),
    clientSecret: secretRefSchema,
  }),
  z.strictObject({
    type: z.literal('jwt-bearer'),
    clientId: z.string().min(1),
    /** The integration user the assertion's `sub` names. */
    username: z.string().min(1),
    /** PEM PKCS#8 private key that signs the assertion (RS256); its certificate is on the connected app. */
    privateKey: secretRefSchema,
    /**
     * The assertion's `aud`. Default: the login URL. Salesforce expects https://login.salesforce.com
     * (or https://test.salesforce.com for sandboxes) even when logging in through a My Domain URL.
     */
    audience: z.url().optional(),
  }),
]);
export type SalesforceAuthConfig = z.infer<typeof salesforceAuthSchema>;

/**
 * JSONata expressions turning a platform event into a tool call. Each is evaluated over
 * `{ payload, event, channel, org }`; an omitted one uses the default contract (`Tool__c`,
 * `Arguments__c` as JSON, `Write_Back__c`, `Request_Id__c` or `EventUuid`).
 */
export const eventMappingSchema = z.strictObject({
  tool: z.string().min(1).max(4000).optional(),
  arguments: z.string().min(1).max(4000).optional(),
  writeBack: z.string().min(1).max(4000).optional(),
  idempotencyKey: z.string().min(1).max(4000).optional(),
});
export type EventMapping = z.infer<typeof eventMappingSchema>;

/**
 * How a channel's subscriber takes events in, when the configuration does not say: the documented
 * defaults of `checkpointEvery`, `concurrency` and `highWaterMark` (docs/configuration.md).
 */
export const SALESFORCE_CHANNEL_DEFAULTS = {
  checkpointEvery: { events: 50, ms: 1000 },
  concurrency: 100,
  highWaterMark: 1000,
} as const;

export const salesforceChannelSchema = z
  .strictObject({
    /** `/event/<Name>__e`. */
    channel: z
      .string()
      .regex(/^\/event\/[A-Za-z][A-Za-z0-9_]*__e$/, 'a platform event channel such as /event/MCP_Tool_Request__e'),
    mapping: eventMappingSchema.default({}),
    /**
     * Where to start when Salesforce refuses the stored replay id (older than its 72-hour retention):
     * `all-retained` (-2, may repeat events the idempotency key then absorbs) or `new-only` (-1,
     * skips what was missed). Either way an alert is logged and recorded.
     */
    replayFallback: z.enum(['all-retained', 'new-only']).default('all-retained'),
    /** Where to start the first time, with no checkpoint. Default `new-only`. */
    initialReplay: z.enum(['all-retained', 'new-only']).default('new-only'),
    /**
     * How often the replay checkpoint is written: after `events` handled events, or `ms` after the
     * first one not yet written, whichever comes first (and always when a session ends or the
     * subscriber stops). A crash replays at most that many events; their idempotency keys absorb
     * the repeats. `{ events: 1, ms: 0 }` writes after every event. Default 50 events / 1,000 ms.
     */
    checkpointEvery: z
      .strictObject({
        events: z.int().min(1).max(10_000).default(SALESFORCE_CHANNEL_DEFAULTS.checkpointEvery.events),
        ms: z.int().min(0).max(60_000).default(SALESFORCE_CHANNEL_DEFAULTS.checkpointEvery.ms),
      })
      .default({ ...SALESFORCE_CHANNEL_DEFAULTS.checkpointEvery }),
    /**
     * Events handed to the broker at once. The checkpoint still follows replay order (it never
     * passes an event not yet handled); the calls run concurrently in the worker anyway. 1 hands
     * them over strictly one at a time. Default 100, so the worker can accept them in groups
     * (the worker setting SALESFORCE_ACCEPT_BATCH); never more than `highWaterMark` (the events held).
     */
    concurrency: z.int().min(1).max(256).default(SALESFORCE_CHANNEL_DEFAULTS.concurrency),
    /**
     * Most events the subscriber holds (received and not yet checkpointed): above it, it stops
     * asking Salesforce for more (holds its next `/meta/connect`). Default 1,000.
     */
    highWaterMark: z.int().min(1).max(100_000).default(SALESFORCE_CHANNEL_DEFAULTS.highWaterMark),
    /** Where a paused subscriber asks for more again. Default half the high-water mark. */
    lowWaterMark: z.int().min(0).max(100_000).optional(),
  })
  .superRefine((channel, ctx) => {
    if (channel.lowWaterMark !== undefined && channel.lowWaterMark >= channel.highWaterMark) {
      ctx.addIssue({
        code: 'custom',
        path: ['lowWaterMark'],
        message: `lowWaterMark (${channel.lowWaterMark}) must be below highWaterMark (${channel.highWaterMark})`,
      });
    }
  });
export type SalesforceChannelConfig = z.infer<typeof salesforceChannelSchema>;

/** A connected Salesforce org: its events become tool calls of `caller`, its records take results. */
export const salesforceOrgSchema = z.strictObject({
  id,
  /** The configured caller whose identity, allowlist and limits the org's events run under. */
  caller: id,
  /** `https://login.salesforce.com`, `https://test.salesforce.com` or the My Domain URL. */
  loginUrl: z.url(),
  apiVersion: z
    .string()
    .regex(/^\d{2,3}\.0$/, 'an API version such as 62.0')
    .default('62.0'),
  auth: salesforceAuthSchema,
  channels: z.array(salesforceChannelSchema).default([{ channel: '/event/MCP_Tool_Request__e' }] as never),
});
export type SalesforceOrgConfig = z.infer<typeof salesforceOrgSchema>;

export const salesforceConfigSchema = z.strictObject({
  orgs: z.array(salesforceOrgSchema).default([]),
});
export type SalesforceConfig = z.infer<typeof salesforceConfigSchema>;

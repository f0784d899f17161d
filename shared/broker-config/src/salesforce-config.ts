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

export const salesforceChannelSchema = z.strictObject({
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

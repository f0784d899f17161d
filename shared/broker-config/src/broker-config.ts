import { z } from 'zod';
import { brokerSettingsSchema, defaultBrokerSettings } from './broker-settings.ts';
import { configIdSchema } from './config-id.ts';
import { checkDatabricks, databricksConfigSchema } from './databricks-config.ts';
import { checkEventGrid, eventGridConfigSchema } from './event-grid-config.ts';
import { salesforceConfigSchema } from './salesforce-config.ts';
import { checkSchedules, schedulesSchema } from './schedules-config.ts';
import { secretRefSchema } from './secret-ref.ts';
import { checkServiceBus, serviceBusConfigSchema } from './service-bus-config.ts';

const id = configIdSchema;
const host = z
  .string()
  .regex(/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i, 'a host name, optionally with a port or a leading "*."');

/** An MCP endpoint: APIM in production, the local MCP server in development. */
export const endpointSchema = z.strictObject({
  /** MCP URL: `/mcp` for Streamable HTTP, `/sse` for legacy SSE. */
  url: z.url(),
  transport: z.enum(['streamable-http', 'sse']).default('streamable-http'),
  /** APIM subscription key, sent as `Ocp-Apim-Subscription-Key`. */
  apimSubscriptionKey: secretRefSchema.optional(),
  /** Budget for one tool call, in ms. Default 120,000. */
  callTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
  /** Budget for connecting (initialize), in ms. Default 10,000. */
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});
export type EndpointConfig = z.infer<typeof endpointSchema>;

/** How a caller proves who it is to the broker. */
export const callerAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('jwt'),
    /** Exact `iss`; discovery at `{issuer}/.well-known/openid-configuration`. */
    issuer: z.url(),
    /** Expected `aud` (the broker's app registration client id for Entra v2). */
    audience: z.string().min(1),
    /** Accepted subjects (Entra `oid`, else `sub`) or client app ids (`azp`/`appid`). */
    subjects: z.array(z.string().min(1)).min(1),
  }),
  z.strictObject({
    type: z.literal('basic'),
    username: z.string().min(1).max(128),
    /** `scrypt$N$r$p$saltB64$hashB64`, made with `hashPassword` from this package (docs/configuration.md shows a one-liner). Never the password itself. */
    passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'an scrypt hash'),
  }),
]);
export type CallerAuthConfig = z.infer<typeof callerAuthSchema>;

/** How the broker obtains a token for the MCP endpoint on the caller's behalf. */
export const upstreamCredentialSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('client-credentials'),
    /** OAuth 2.0 token endpoint (Entra: https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token). */
    tokenUrl: z.url(),
    clientId: z.string().min(1),
    clientSecret: secretRefSchema,
    /** Entra: `api://…/.default`; Entra v2 rejects RFC 8707 `resource`, so only scope is sent. */
    scope: z.string().min(1),
  }),
  z.strictObject({
    type: z.literal('workload-identity'),
    tenantId: z.string().min(1),
    clientId: z.string().min(1),
    /** Federated token file (AKS sets AZURE_FEDERATED_TOKEN_FILE). */
    tokenFilePath: z.string().optional(),
    scope: z.string().min(1),
  }),
  z.strictObject({
    type: z.literal('managed-identity'),
    /** User-assigned identity client id; omit for system-assigned. */
    clientId: z.string().optional(),
    scope: z.string().min(1),
  }),
  z.strictObject({
    type: z.literal('client-certificate'),
    tenantId: z.string().min(1),
    clientId: z.string().min(1),
    /** PEM with the private key and certificate, from an environment variable. */
    certificatePem: secretRefSchema,
    scope: z.string().min(1),
  }),
]);
export type UpstreamCredentialConfig = z.infer<typeof upstreamCredentialSchema>;

export const callerSchema = z.strictObject({
  id,
  auth: callerAuthSchema,
  upstream: z.strictObject({
    /** Endpoint id from `endpoints`. */
    endpoint: id,
    credential: upstreamCredentialSchema,
  }),
  /** Tools this caller may call (`*` for all the endpoint offers). */
  tools: z.array(z.string().min(1)).min(1),
  limits: z
    .strictObject({
      /** Calls of this caller running at once, across all worker replicas. */
      concurrency: z.number().int().min(1).max(1000).default(4),
      /** Calls started per minute, across all worker replicas. */
      callsPerMinute: z.number().int().min(1).max(100_000).default(120),
    })
    .default({ concurrency: 4, callsPerMinute: 120 }),
  /** Hosts http-callback targets may point at (exact, or `*.example.com`). */
  callbackHosts: z.array(host).default([]),
  /** Allow callbacks to private/loopback addresses (development only). Default false. */
  allowPrivateCallbacks: z.boolean().default(false),
  /** Secret for signing this caller's callbacks (HMAC-SHA256). */
  callbackSigningSecret: secretRefSchema.optional(),
  /** May list and replay dead letters. */
  admin: z.boolean().default(false),
  /** With admin: may retry, remove and promote jobs on the queue dashboard (/admin/queues); else it is read-only. */
  queueActions: z.boolean().default(false),
});
export type CallerConfig = z.infer<typeof callerSchema>;

export const brokerConfigSchema = z
  .strictObject({
    /** Settings ingress and the worker share (key prefix, attempts, retention); defaults when omitted. */
    broker: brokerSettingsSchema.default(defaultBrokerSettings),
    endpoints: z.record(id, endpointSchema),
    callers: z.array(callerSchema).min(1),
    /** Connected Salesforce orgs (platform events in, record/result/event write-back out). */
    salesforce: salesforceConfigSchema.default({ orgs: [] }),
    /** Scheduled batch enrichment (docs/batch-enrichment.md). */
    schedules: schedulesSchema,
    /** Connected Databricks workspaces (job webhooks in, databricks-sql write-back out; docs/databricks.md). */
    databricks: databricksConfigSchema,
    /** Azure Event Grid: push webhooks and pull subscriptions in, topics for write-back (docs/event-grid.md). */
    eventGrid: eventGridConfigSchema,
    /** Azure Service Bus: queues and subscriptions in, queues and topics for write-back (docs/service-bus.md). */
    serviceBus: serviceBusConfigSchema,
  })
  .superRefine((config, ctx) => {
    checkDatabricks(config, ctx);
    const seen = new Set<string>();
    config.callers.forEach((caller, i) => {
      if (seen.has(caller.id)) {
        ctx.addIssue({ code: 'custom', path: ['callers', i, 'id'], message: `duplicate caller id "${caller.id}"` });
      }
      seen.add(caller.id);
      if (!config.endpoints[caller.upstream.endpoint]) {
        ctx.addIssue({
          code: 'custom',
          path: ['callers', i, 'upstream', 'endpoint'],
          message: `unknown endpoint "${caller.upstream.endpoint}"; known: ${Object.keys(config.endpoints).join(', ')}`,
        });
      }
    });
    const orgs = new Set<string>();
    config.salesforce.orgs.forEach((org, i) => {
      if (orgs.has(org.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['salesforce', 'orgs', i, 'id'],
          message: `duplicate org id "${org.id}"`,
        });
      }
      orgs.add(org.id);
      if (!seen.has(org.caller)) {
        ctx.addIssue({
          code: 'custom',
          path: ['salesforce', 'orgs', i, 'caller'],
          message: `unknown caller "${org.caller}"; known: ${[...seen].join(', ')}`,
        });
      }
      const channels = new Set<string>();
      org.channels.forEach((c, j) => {
        if (channels.has(c.channel)) {
          ctx.addIssue({
            code: 'custom',
            path: ['salesforce', 'orgs', i, 'channels', j, 'channel'],
            message: `duplicate channel "${c.channel}"`,
          });
        }
        channels.add(c.channel);
      });
    });
    checkSchedules(config, ctx);
    checkEventGrid(config, ctx);
    checkServiceBus(config, ctx);
  });
export type BrokerConfig = z.infer<typeof brokerConfigSchema>;

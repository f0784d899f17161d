import { z } from 'zod';
import { configIdSchema } from './config-id.ts';
import { jsonataExpressionSchema } from './jsonata-expression.ts';
import { secretRefSchema } from './secret-ref.ts';

const id = configIdSchema;

const expression = jsonataExpressionSchema;

/**
 * Which events become which tool call. The first route whose event type and subject match is used;
 * an event no route matches is refused (it is dead-lettered by Event Grid, or rejected on pull).
 * Expressions are evaluated over `{ event, data, type, subject, source, id, subscription }`.
 */
export const eventGridRouteSchema = z.strictObject({
  /** Exact event type (`Contoso.Orders.Created`), or a prefix ending in `*` (`Contoso.Orders.*`); `*` alone matches all. */
  eventType: z.string().min(1).max(256),
  subjectBeginsWith: z.string().min(1).max(1024).optional(),
  subjectEndsWith: z.string().min(1).max(1024).optional(),
  /** The tool to call. */
  tool: z.string().min(1).max(128),
  /** The tool's arguments (must give an object). Default: the event's `data`. */
  arguments: expression.optional(),
  /** Write-back targets (an array of targets, or one). Default: none. */
  writeBack: expression.optional(),
});
export type EventGridRoute = z.infer<typeof eventGridRouteSchema>;

/** How a push delivery proves it comes from the configured event subscription. */
export const eventGridPushAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /** Event Grid's Entra delivery auth: a token for the subscription's app (`aud`) from this issuer. */
    type: z.literal('entra'),
    /** Exact `iss` (Entra v2: https://login.microsoftonline.com/{tenant}/v2.0). */
    issuer: z.url(),
    /** The app id or Application ID URI configured on the event subscription (`azureActiveDirectoryApplicationIdOrUri`). */
    audience: z.string().min(1),
    /** Accepted caller ids (`oid`/`azp`/`appid`); omit to accept any token of the issuer for this audience. */
    subjects: z.array(z.string().min(1)).min(1).optional(),
  }),
  z.strictObject({
    /** A per-subscription key, sent by Event Grid as a secret delivery property (header). */
    type: z.literal('key'),
    /** `sha256:<64 hex>` of the key (`printf %s "$KEY" | sha256sum`). The key must be random, 32+ characters. */
    keyHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256: followed by 64 lower-case hex digits'),
    /** The delivery property (header) carrying the key. Default `x-event-grid-key`. */
    header: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, 'a lower-case header name')
      .default('x-event-grid-key'),
  }),
]);
export type EventGridPushAuth = z.infer<typeof eventGridPushAuthSchema>;

/** `POST /webhooks/eventgrid/{id}`: an Event Grid event subscription with a webhook endpoint. */
export const eventGridPushSubscriptionSchema = z.strictObject({
  id,
  /** The configured caller whose identity, allowlist and limits the events run under. */
  caller: id,
  auth: eventGridPushAuthSchema,
  routes: z.array(eventGridRouteSchema).min(1).max(100),
});
export type EventGridPushSubscription = z.infer<typeof eventGridPushSubscriptionSchema>;

/** How the broker authenticates to Event Grid (a topic or a namespace): an access key, or an Entra identity holding the data-plane role. */
export const eventGridCredentialSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('access-key'), key: secretRefSchema }),
  z.strictObject({
    type: z.literal('workload-identity'),
    tenantId: z.string().min(1),
    clientId: z.string().min(1),
    tokenFilePath: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('managed-identity'), clientId: z.string().optional() }),
  z.strictObject({
    type: z.literal('client-credentials'),
    tokenUrl: z.url(),
    clientId: z.string().min(1),
    clientSecret: secretRefSchema,
  }),
]);
export type EventGridCredential = z.infer<typeof eventGridCredentialSchema>;

/** A queue (pull) event subscription on a namespace topic, read by the worker. */
export const eventGridPullSubscriptionSchema = z.strictObject({
  id,
  caller: id,
  /** The namespace endpoint, https://<namespace>.<region>-1.eventgrid.azure.net. */
  endpoint: z.url(),
  topic: z.string().regex(/^[A-Za-z0-9-]{3,50}$/, 'a namespace topic name'),
  subscription: z.string().regex(/^[A-Za-z0-9-]{3,64}$/, 'an event subscription name'),
  credential: eventGridCredentialSchema,
  routes: z.array(eventGridRouteSchema).min(1).max(100),
  /** Events per receive, 1–100. Default 10. */
  maxEvents: z.number().int().min(1).max(100).default(10),
  /** How long one receive waits for events, 10–120 s (the service's range). Default 60. */
  maxWaitSeconds: z.number().int().min(10).max(120).default(60),
  /** Delay before a released event (transient failure) is offered again: one the service allows. Default 10. */
  releaseDelaySeconds: z
    .union([z.literal(0), z.literal(10), z.literal(60), z.literal(600), z.literal(3600)])
    .default(10),
});
export type EventGridPullSubscription = z.infer<typeof eventGridPullSubscriptionSchema>;

/** Where `event-grid` write-back targets publish: a custom topic or a namespace topic. */
export const eventGridTopicSchema = z
  .strictObject({
    id,
    kind: z.enum(['topic', 'namespace-topic']),
    /** Custom topic: https://<topic>.<region>-1.eventgrid.azure.net/api/events. Namespace: its endpoint. */
    endpoint: z.url(),
    /** Namespace topic name (kind `namespace-topic` only). */
    namespaceTopic: z
      .string()
      .regex(/^[A-Za-z0-9-]{3,50}$/, 'a namespace topic name')
      .optional(),
    credential: eventGridCredentialSchema,
    /** CloudEvents `type` prefix: `<prefix>.toolcall.succeeded` / `.failed`. Default `com.mcp-broker`. */
    typePrefix: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,100}$/, 'letters, digits, dots and dashes')
      .default('com.mcp-broker'),
    /** CloudEvents `source`. Default `/mcp-broker`. */
    source: z.string().min(1).max(1024).default('/mcp-broker'),
    /** Callers whose calls may write back here. */
    callers: z.array(id).min(1),
    /** A result up to this many bytes (as JSON) travels in the event; a larger one is referenced by call id. Default 32,768. */
    inlineResultMaxBytes: z.number().int().min(0).max(900_000).default(32_768),
  })
  .superRefine((topic, ctx) => {
    if (topic.kind === 'namespace-topic' && !topic.namespaceTopic) {
      ctx.addIssue({ code: 'custom', path: ['namespaceTopic'], message: 'required for kind namespace-topic' });
    }
    if (topic.kind === 'topic' && topic.namespaceTopic) {
      ctx.addIssue({ code: 'custom', path: ['namespaceTopic'], message: 'only for kind namespace-topic' });
    }
    if (!topic.endpoint.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'Event Grid endpoints are https' });
    }
  });
export type EventGridTopic = z.infer<typeof eventGridTopicSchema>;

export const eventGridConfigSchema = z
  .strictObject({
    push: z.array(eventGridPushSubscriptionSchema).default([]),
    pull: z.array(eventGridPullSubscriptionSchema).default([]),
    topics: z.array(eventGridTopicSchema).default([]),
  })
  .default({ push: [], pull: [], topics: [] });
export type EventGridConfig = z.infer<typeof eventGridConfigSchema>;

/** Cross-references: unique ids, known callers. Called from the broker configuration's refinement. */
export function checkEventGrid(
  config: { eventGrid: EventGridConfig; callers: readonly { id: string }[] },
  ctx: z.RefinementCtx,
): void {
  const callers = new Set(config.callers.map((c) => c.id));
  const known = [...callers].join(', ');
  for (const section of ['push', 'pull', 'topics'] as const) {
    const seen = new Set<string>();
    config.eventGrid[section].forEach((entry, i) => {
      const at = ['eventGrid', section, i];
      if (seen.has(entry.id))
        ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicate id "${entry.id}"` });
      seen.add(entry.id);
      const referenced = 'caller' in entry ? [entry.caller] : entry.callers;
      referenced.forEach((caller, j) => {
        if (!callers.has(caller)) {
          ctx.addIssue({
            code: 'custom',
            path: 'caller' in entry ? [...at, 'caller'] : [...at, 'callers', j],
            message: `unknown caller "${caller}"; known: ${known}`,
          });
        }
      });
    });
  }
}

/** The secrets the Event Grid section references, for the start-up check that they are set. */
export function eventGridSecretRefs(config: EventGridConfig): { fromEnv: string }[] {
  const refs: { fromEnv: string }[] = [];
  for (const entry of [...config.pull, ...config.topics]) {
    if (entry.credential.type === 'access-key') refs.push(entry.credential.key);
    if (entry.credential.type === 'client-credentials') refs.push(entry.credential.clientSecret);
  }
  return refs;
}

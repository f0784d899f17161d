import { z } from 'zod';
import { configIdSchema } from './config-id.ts';
import { secretRefSchema } from './secret-ref.ts';

const id = configIdSchema;

/** Queue and topic names: letters, digits, `.`, `-`, `_`, `/` (the service's rule), up to 260 characters. */
const entityName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,259}$/, 'a queue or topic name (letters, digits, . - _ /)')
  .refine((name) => !name.endsWith('/') && !name.includes('$'), 'a queue or topic name, not a sub-queue');
const subscriptionName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/, 'a subscription name (letters, digits, . - _; up to 50)');
const applicationPropertyName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'an application property name');

/**
 * How the broker authenticates to a namespace: a connection string from a secret reference
 * (shared access policy), or an Entra identity holding the Azure Service Bus Data Receiver /
 * Data Sender role (then `fullyQualifiedNamespace` is required).
 */
export const serviceBusCredentialSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('connection-string'), connectionString: secretRefSchema }),
  /** DefaultAzureCredential: environment, workload identity, managed identity, developer logins. */
  z.strictObject({ type: z.literal('default') }),
  z.strictObject({
    type: z.literal('workload-identity'),
    tenantId: z.string().min(1),
    clientId: z.string().min(1),
    /** Federated token file; default AZURE_FEDERATED_TOKEN_FILE as AKS sets it. */
    tokenFilePath: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('managed-identity'),
    /** User-assigned identity client id; omit for system-assigned. */
    clientId: z.string().optional(),
  }),
]);
export type ServiceBusCredential = z.infer<typeof serviceBusCredentialSchema>;

export const serviceBusNamespaceSchema = z
  .strictObject({
    id,
    /** `<namespace>.servicebus.windows.net`. Required with an Entra credential. */
    fullyQualifiedNamespace: z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'a host name such as contoso.servicebus.windows.net')
      .optional(),
    credential: serviceBusCredentialSchema,
  })
  .superRefine((namespace, ctx) => {
    if (namespace.credential.type !== 'connection-string' && !namespace.fullyQualifiedNamespace) {
      ctx.addIssue({
        code: 'custom',
        path: ['fullyQualifiedNamespace'],
        message: `required with credential type ${namespace.credential.type}`,
      });
    }
  });
export type ServiceBusNamespace = z.infer<typeof serviceBusNamespaceSchema>;

/** Where an entity is: a queue, or a topic (with a subscription when receiving). */
function checkEntity(
  entity: { queue?: string | undefined; topic?: string | undefined; subscription?: string | undefined },
  ctx: z.RefinementCtx,
  receiving: boolean,
): void {
  if (Boolean(entity.queue) === Boolean(entity.topic)) {
    ctx.addIssue({ code: 'custom', path: ['queue'], message: 'name exactly one of queue or topic' });
  }
  if (receiving && entity.topic && !entity.subscription) {
    ctx.addIssue({ code: 'custom', path: ['subscription'], message: 'required with topic' });
  }
  if (entity.subscription && !entity.topic) {
    ctx.addIssue({ code: 'custom', path: ['subscription'], message: 'only with topic' });
  }
}

/** Tool-call requests in: one receiver per source, in the worker (docs/service-bus.md). */
export const serviceBusSourceSchema = z
  .strictObject({
    id,
    /** The configured caller whose identity, allowlist and limits the requests run under. */
    caller: id,
    namespace: id,
    queue: entityName.optional(),
    topic: entityName.optional(),
    subscription: subscriptionName.optional(),
    /**
     * The application property whose value is the idempotency key. Default: the body's
     * `idempotencyKey`, else the message's `messageId` (so a redelivered message is one call).
     */
    idempotencyProperty: applicationPropertyName.optional(),
    /** Messages handled at once by this receiver (per replica). Default 4. */
    maxConcurrentCalls: z.number().int().min(1).max(100).default(4),
    /**
     * Session-enabled entity: each receiver locks one session at a time and handles its messages in
     * order, one at a time. Default false.
     */
    sessions: z.boolean().default(false),
    /** Sessions handled at once by this source (per replica) when `sessions` is on. Default 4. */
    maxConcurrentSessions: z.number().int().min(1).max(100).default(4),
    /** How long a session receiver waits for the session's next message before releasing it, in ms. Default 10,000. */
    sessionIdleMs: z.number().int().min(100).max(600_000).default(10_000),
    /** How long the lock of a message whose accept is still running is renewed, in ms. Default 300,000. */
    maxLockRenewalMs: z.number().int().min(0).max(86_400_000).default(300_000),
  })
  .superRefine((source, ctx) => checkEntity(source, ctx, true));
export type ServiceBusSource = z.infer<typeof serviceBusSourceSchema>;

/** Where `service-bus` write-back targets send: a queue or a topic. */
export const serviceBusTargetConfigSchema = z
  .strictObject({
    id,
    namespace: id,
    queue: entityName.optional(),
    topic: entityName.optional(),
    /** Callers whose calls may write back here. */
    callers: z.array(id).min(1),
    /** Subject prefix: `<prefix>.succeeded` / `.failed` / `.cancelled`. Default `toolcall`. */
    subjectPrefix: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, dots, dashes and underscores')
      .default('toolcall'),
    /** A result up to this many bytes (as JSON) travels in the message; a larger one is referenced by call id. Default 65,536. */
    inlineResultMaxBytes: z.number().int().min(0).max(200_000).default(65_536),
  })
  .superRefine((target, ctx) => checkEntity(target, ctx, false));
export type ServiceBusTargetConfig = z.infer<typeof serviceBusTargetConfigSchema>;

export const serviceBusConfigSchema = z
  .strictObject({
    namespaces: z.array(serviceBusNamespaceSchema).default([]),
    sources: z.array(serviceBusSourceSchema).default([]),
    targets: z.array(serviceBusTargetConfigSchema).default([]),
  })
  .default({ namespaces: [], sources: [], targets: [] });
export type ServiceBusConfig = z.infer<typeof serviceBusConfigSchema>;

/** Cross-references: unique ids, known namespaces and callers. Called from the broker configuration's refinement. */
export function checkServiceBus(
  config: { serviceBus: ServiceBusConfig; callers: readonly { id: string }[] },
  ctx: z.RefinementCtx,
): void {
  const callers = new Set(config.callers.map((c) => c.id));
  const namespaces = new Set(config.serviceBus.namespaces.map((n) => n.id));
  for (const section of ['namespaces', 'sources', 'targets'] as const) {
    const seen = new Set<string>();
    config.serviceBus[section].forEach((entry, i) => {
      const at = ['serviceBus', section, i];
      if (seen.has(entry.id))
        ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicate id "${entry.id}"` });
      seen.add(entry.id);
      if ('namespace' in entry && !namespaces.has(entry.namespace)) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'namespace'],
          message: `unknown namespace "${entry.namespace}"; known: ${[...namespaces].join(', ') || 'none'}`,
        });
      }
      const referenced = 'caller' in entry ? [entry.caller] : 'callers' in entry ? entry.callers : [];
      referenced.forEach((caller, j) => {
        if (!callers.has(caller)) {
          ctx.addIssue({
            code: 'custom',
            path: 'caller' in entry ? [...at, 'caller'] : [...at, 'callers', j],
            message: `unknown caller "${caller}"; known: ${[...callers].join(', ')}`,
          });
        }
      });
    });
  }
}

/** The secrets the Service Bus section references, for the start-up check that they are set. */
export function serviceBusSecretRefs(config: ServiceBusConfig): { fromEnv: string }[] {
  return config.namespaces.flatMap((n) =>
    n.credential.type === 'connection-string' ? [n.credential.connectionString] : [],
  );
}

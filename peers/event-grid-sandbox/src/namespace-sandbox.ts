import { randomBytes } from 'node:crypto';
import { badRequest, cloudEventProblem, isObject, MAX_PUBLISH_BYTES } from './event-validation.ts';
import {
  type Fault,
  type HttpsEndpoint,
  type SandboxRequest,
  type SandboxResponse,
  startHttpsEndpoint,
} from './https-endpoint.ts';
import { checkNamespaceAuth, header, type SandboxAccess } from './service-auth.ts';
import type { SelfSignedCertificate } from './tls-certificate.ts';

/** A queue (pull) event subscription on a namespace topic. */
export interface SandboxSubscriptionConfig {
  name: string;
  /** How long a received event stays locked, in seconds. The service allows 60–300 (default 60); the sandbox allows shorter for tests. */
  lockDurationSeconds?: number;
  /** Deliveries before an event is dead-lettered, 1–10 (default 10). */
  maxDeliveryCount?: number;
  /** Only these event types reach the subscription (the service's `includedEventTypes` filter). */
  includedEventTypes?: string[];
}

export interface SandboxNamespaceTopicConfig {
  name: string;
  subscriptions: SandboxSubscriptionConfig[];
}

export type EventState = 'available' | 'locked' | 'acknowledged' | 'dead-lettered';

interface Entry {
  event: Record<string, unknown>;
  state: EventState;
  deliveryCount: number;
  lockToken?: string;
  lockExpiresAt?: number;
  availableAt: number;
  deadLetterReason?: string;
}

interface Subscription {
  config: SandboxSubscriptionConfig;
  entries: Entry[];
  waiters: Set<() => void>;
}

export interface EventGridNamespaceSandbox {
  /** The namespace endpoint the SDK clients are given. */
  url: string;
  certificate: SelfSignedCertificate;
  /** Events of a subscription in a state (locks that expired count as available). */
  events(
    topic: string,
    subscription: string,
    state?: EventState,
  ): { event: Record<string, unknown>; deliveryCount: number; deadLetterReason?: string }[];
  /** Every request by operation and answer, to count calls. */
  readonly requests: { operation: string; status: number }[];
  failNext(count: number, fault: Fault): void;
  close(): Promise<void>;
}

const API_VERSIONS = new Set(['2023-11-01', '2024-06-01']);
const RELEASE_DELAYS = new Set([0, 10, 60, 600, 3600]);

/**
 * A stand-in for an Event Grid namespace's data plane for namespace topics with queue (pull)
 * subscriptions: `:publish`, `:receive` (long poll with maxWaitTime, lock tokens), `:acknowledge`,
 * `:release` (with releaseDelayInSeconds), `:reject` (dead letter), `:renewLock`; a lock that
 * expires makes the event available again, and the delivery past maxDeliveryCount dead-letters it.
 */
export async function startEventGridNamespaceSandbox(options: {
  topics: SandboxNamespaceTopicConfig[];
  access: SandboxAccess;
  certificate?: SelfSignedCertificate;
}): Promise<EventGridNamespaceSandbox> {
  const topics = new Map<string, Map<string, Subscription>>();
  for (const topic of options.topics) {
    topics.set(
      topic.name,
      new Map(topic.subscriptions.map((s) => [s.name, { config: s, entries: [], waiters: new Set<() => void>() }])),
    );
  }
  const requests: { operation: string; status: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  async function handle(request: SandboxRequest): Promise<SandboxResponse> {
    const answer = await route(request);
    requests.push({ operation: operationOf(request.path), status: answer.status });
    return answer;
  }

  async function route(request: SandboxRequest): Promise<SandboxResponse> {
    if (request.method !== 'POST')
      return { status: 405, body: { error: { code: 'MethodNotAllowed', message: 'Use POST.' } } };
    const apiVersion = request.query.get('api-version');
    if (!apiVersion || !API_VERSIONS.has(apiVersion)) {
      return badRequest('InvalidApiVersion', `The api-version "${apiVersion ?? ''}" is not supported.`);
    }
    const auth = await checkNamespaceAuth(request, options.access);
    if (!auth.ok) return auth.response;
    const publish = /^\/topics\/([^/:]+):publish$/.exec(request.path);
    if (publish) {
      const subs = topics.get(decodeURIComponent(publish[1] ?? ''));
      return subs ? publishTo(subs, request) : notFound('topic', publish[1]);
    }
    const op = /^\/topics\/([^/:]+)\/eventsubscriptions\/([^/:]+):(receive|acknowledge|release|reject|renewLock)$/.exec(
      request.path,
    );
    if (!op) return notFound('operation', request.path);
    const subscription = topics.get(decodeURIComponent(op[1] ?? ''))?.get(decodeURIComponent(op[2] ?? ''));
    if (!subscription) return notFound('event subscription', `${op[1]}/${op[2]}`);
    expireLocks(subscription);
    if (op[3] === 'receive') return receive(subscription, request);
    return settle(subscription, op[3] as 'acknowledge' | 'release' | 'reject' | 'renewLock', request);
  }

  function publishTo(subs: Map<string, Subscription>, request: SandboxRequest): SandboxResponse {
    if (request.body.length > MAX_PUBLISH_BYTES) {
      return {
        status: 413,
        body: {
          error: {
            code: 'RequestEntityTooLarge',
            message: `The maximum size (${MAX_PUBLISH_BYTES}) has been exceeded.`,
          },
        },
      };
    }
    const contentType = (header(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/cloudevents+json' && contentType !== 'application/cloudevents-batch+json') {
      return badRequest(
        'InvalidContentType',
        `Content-Type "${contentType ?? ''}" is not a CloudEvents JSON type (structured or batched).`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.body.toString('utf8'));
    } catch {
      return badRequest('InputJsonInvalid', 'The request body is not valid JSON.');
    }
    const batch = contentType === 'application/cloudevents-batch+json';
    if (batch && !Array.isArray(parsed))
      return badRequest('InputJsonInvalid', 'A batch must be a JSON array of CloudEvents.');
    const events = batch ? (parsed as unknown[]) : [parsed];
    for (const [index, event] of events.entries()) {
      const problem = cloudEventProblem(event, index);
      if (problem) return badRequest('InputJsonInvalid', problem);
    }
    const now = Date.now();
    for (const event of events as Record<string, unknown>[]) {
      for (const subscription of subs.values()) {
        const types = subscription.config.includedEventTypes;
        if (types && !types.includes(event.type as string)) continue;
        subscription.entries.push({ event, state: 'available', deliveryCount: 0, availableAt: now });
        wake(subscription);
      }
    }
    return { status: 200, body: {} };
  }

  async function receive(subscription: Subscription, request: SandboxRequest): Promise<SandboxResponse> {
    const maxEvents = intParam(request.query, 'maxEvents', 1);
    const maxWaitTime = intParam(request.query, 'maxWaitTime', 60);
    if (maxEvents === undefined || maxEvents < 1 || maxEvents > 100) {
      return badRequest('InvalidArgument', 'maxEvents must be an integer from 1 to 100.');
    }
    if (maxWaitTime === undefined || maxWaitTime < 10 || maxWaitTime > 120) {
      return badRequest('InvalidArgument', 'maxWaitTime must be an integer from 10 to 120 seconds.');
    }
    const deadline = Date.now() + maxWaitTime * 1000;
    for (;;) {
      expireLocks(subscription);
      const taken = take(subscription, maxEvents);
      if (taken.length > 0 || Date.now() >= deadline || closed) {
        return {
          status: 200,
          body: {
            value: taken.map((entry) => ({
              brokerProperties: { lockToken: entry.lockToken, deliveryCount: entry.deliveryCount },
              event: entry.event,
            })),
          },
        };
      }
      await waitFor(subscription, Math.min(deadline - Date.now(), nextChange(subscription) - Date.now()));
    }
  }

  function take(subscription: Subscription, maxEvents: number): Entry[] {
    const now = Date.now();
    const lockMs = (subscription.config.lockDurationSeconds ?? 60) * 1000;
    const maxDeliveries = subscription.config.maxDeliveryCount ?? 10;
    const taken: Entry[] = [];
    for (const entry of subscription.entries) {
      if (taken.length >= maxEvents) break;
      if (entry.state !== 'available' || entry.availableAt > now) continue;
      if (entry.deliveryCount >= maxDeliveries) {
        entry.state = 'dead-lettered';
        entry.deadLetterReason = 'MaxDeliveryCountExceeded';
        continue;
      }
      entry.deliveryCount += 1;
      entry.state = 'locked';
      entry.lockToken = randomBytes(16).toString('base64');
      entry.lockExpiresAt = now + lockMs;
      taken.push(entry);
    }
    return taken;
  }

  function settle(
    subscription: Subscription,
    operation: 'acknowledge' | 'release' | 'reject' | 'renewLock',
    request: SandboxRequest,
  ): SandboxResponse {
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return badRequest('InputJsonInvalid', 'The request body is not valid JSON.');
    }
    const lockTokens = isObject(body) ? body.lockTokens : undefined;
    if (
      !Array.isArray(lockTokens) ||
      lockTokens.length < 1 ||
      lockTokens.length > 100 ||
      !lockTokens.every((t) => typeof t === 'string')
    ) {
      return badRequest('InvalidArgument', 'lockTokens must be an array of 1 to 100 strings.');
    }
    let delayMs = 0;
    if (operation === 'release') {
      const delay = intParam(request.query, 'releaseDelayInSeconds', 0);
      if (delay === undefined || !RELEASE_DELAYS.has(delay)) {
        return badRequest('InvalidArgument', 'releaseDelayInSeconds must be one of 0, 10, 60, 600, 3600.');
      }
      delayMs = delay * 1000;
    }
    const now = Date.now();
    const succeeded: string[] = [];
    const failed: { lockToken: string; error: { code: string; message: string } }[] = [];
    for (const token of lockTokens as string[]) {
      const entry = subscription.entries.find((e) => e.lockToken === token && e.state === 'locked');
      if (!entry || (entry.lockExpiresAt ?? 0) <= now) {
        failed.push({
          lockToken: token,
          error: { code: 'TokenLost', message: 'The lock token is unknown or its lock expired.' },
        });
        continue;
      }
      if (operation === 'acknowledge') entry.state = 'acknowledged';
      else if (operation === 'reject') {
        entry.state = 'dead-lettered';
        entry.deadLetterReason = 'Rejected';
      } else if (operation === 'release') {
        entry.state = 'available';
        entry.availableAt = now + delayMs;
        arm(subscription, delayMs);
      } else entry.lockExpiresAt = now + (subscription.config.lockDurationSeconds ?? 60) * 1000;
      if (operation !== 'renewLock') delete entry.lockToken;
      succeeded.push(token);
    }
    if (operation === 'release') wake(subscription);
    return { status: 200, body: { failedLockTokens: failed, succeededLockTokens: succeeded } };
  }

  function expireLocks(subscription: Subscription): void {
    const now = Date.now();
    for (const entry of subscription.entries) {
      if (entry.state === 'locked' && (entry.lockExpiresAt ?? 0) <= now) {
        delete entry.lockToken;
        if (entry.deliveryCount >= (subscription.config.maxDeliveryCount ?? 10)) {
          entry.state = 'dead-lettered';
          entry.deadLetterReason = 'MaxDeliveryCountExceeded';
        } else entry.state = 'available';
      }
    }
  }

  /** When the next lock expires or a delayed release becomes available. */
  function nextChange(subscription: Subscription): number {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of subscription.entries) {
      if (entry.state === 'locked') next = Math.min(next, entry.lockExpiresAt ?? next);
      if (entry.state === 'available') next = Math.min(next, entry.availableAt);
    }
    return next;
  }

  function waitFor(subscription: Subscription, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        timers.delete(timer);
        subscription.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      timers.add(timer);
      subscription.waiters.add(done);
    });
  }

  function wake(subscription: Subscription): void {
    for (const waiter of [...subscription.waiters]) waiter();
  }

  function arm(subscription: Subscription, ms: number): void {
    if (ms <= 0) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      wake(subscription);
    }, ms);
    timers.add(timer);
  }

  const endpoint: HttpsEndpoint = await startHttpsEndpoint(handle, options.certificate);
  return {
    url: endpoint.url,
    certificate: endpoint.certificate,
    events(topic, name, state) {
      const subscription = topics.get(topic)?.get(name);
      if (!subscription) return [];
      expireLocks(subscription);
      return subscription.entries
        .filter((e) => state === undefined || e.state === state)
        .map((e) => ({
          event: e.event,
          deliveryCount: e.deliveryCount,
          ...(e.deadLetterReason ? { deadLetterReason: e.deadLetterReason } : {}),
        }));
    },
    requests,
    failNext: (count, fault) => endpoint.failNext(count, fault),
    async close() {
      closed = true;
      for (const subs of topics.values()) for (const s of subs.values()) wake(s);
      for (const timer of timers) clearTimeout(timer);
      await endpoint.close();
    },
  };
}

function intParam(query: URLSearchParams, name: string, fallback: number): number | undefined {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  return Number.isInteger(value) ? value : undefined;
}

function operationOf(path: string): string {
  return /:([A-Za-z]+)$/.exec(path)?.[1] ?? 'unknown';
}

function notFound(what: string, name: string | undefined): SandboxResponse {
  return { status: 404, body: { error: { code: 'NotFound', message: `No ${what} "${(name ?? '').slice(0, 200)}".` } } };
}

/**
 * A local stand-in for a Salesforce org, close enough to the documented behaviour that jsforce
 * cannot tell: the OAuth token endpoint, REST sObject resources and SObject Collections, and
 * Streaming API for platform events on a real Bayeux server with durable replay. Faults are
 * injected through `faults`. See README.md for what it covers and the documents it follows.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeliveredEvent, RetentionOptions } from './event-bus.ts';
import { buildFaults, FaultInjector, type SalesforceFaults } from './fault-injection.ts';
import { sendJson } from './http-helpers.ts';
import { buildOAuthEndpoint, type JwtVerificationKey } from './oauth-endpoint.ts';
import { PlatformEvents } from './platform-events.ts';
import { buildRestRoutes } from './rest-routes.ts';
import { notFound } from './salesforce-errors.ts';
import { RecordIdFactory } from './salesforce-ids.ts';
import { SessionStore } from './session-store.ts';
import { DEFAULT_SOBJECTS, type SObjectDefinition, SObjectSchema } from './sobject-schema.ts';
import { type SObjectRecord, SObjectStore } from './sobject-store.ts';

export interface SalesforceSandboxOptions {
  /** API version served: REST under `/services/data/v<apiVersion>`, Streaming at `/cometd/<apiVersion>`. Default `62.0`. */
  apiVersion?: string;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default 0 (any free port). */
  port?: number;
  /** The connected app's consumer key (client id). Default `3MVG9sandbox.mcp-broker`. */
  clientId?: string;
  /** The connected app's consumer secret, for the client-credentials flow. Default `sandbox-client-secret`. */
  clientSecret?: string;
  /** The certificate or public key JWT bearer assertions must be signed with (RS256). Default: JWT bearer refused. */
  jwtPublicKey?: JwtVerificationKey;
  /** The integration user: the client-credentials run-as user and the only JWT `sub` accepted. Default `integration@mcp-broker.sandbox`. */
  username?: string;
  /** Objects added to (or replacing, by name) the default org's. */
  objects?: Record<string, SObjectDefinition>;
  /** Platform event retention. Default 72 hours, 10,000 events per channel. */
  retention?: RetentionOptions;
  /** How long a `/meta/connect` long poll is held open. Default 110 s, as Salesforce advises. */
  longPollTimeoutMs?: number;
  /**
   * Most events one long-poll answer carries (a replay backlog then comes in several answers, one
   * per `/meta/connect`). Default no limit: the whole queue in one answer.
   */
  maxEventsPerResponse?: number;
  /** The daily API request allocation reported in `Sforce-Limit-Info`. Default 15,000. */
  dailyApiRequests?: number;
  /** The clock (record dates, event dates, retention, JWT expiry). Default the system clock. */
  now?: () => Date;
}

export interface SalesforceSandbox {
  /** Where REST and Streaming are served (`instance_url`). */
  instanceUrl: string;
  /** Where the token endpoint is served; the JWT audience. Same server as `instanceUrl`. */
  loginUrl: string;
  apiVersion: string;
  orgId: string;
  userId: string;
  username: string;
  clientId: string;
  clientSecret: string;
  /**
   * Publishes a platform event as if the org had (a Flow, Apex or an API call), after the same
   * field checks as REST. `channel` is `/event/<Name>__e` or the event's API name.
   */
  publishEvent(channel: string, payload: Record<string, unknown>): { replayId: number; eventUuid: string };
  /** The events of a channel still within retention, oldest first. */
  retainedEvents(channel: string): DeliveredEvent[];
  /** The stored records of an object (copies). */
  records(sobject: string): SObjectRecord[];
  /** Stores a record directly (seed data), after the same checks as REST; returns its id. */
  insertRecord(sobject: string, fields: Record<string, unknown>): string;
  /** How many Bayeux clients the Streaming server knows now. */
  streamingClientCount(): number;
  /** Events the Streaming server holds for clients that have not asked for them yet (their next connect). */
  streamingQueuedEvents(): number;
  faults: SalesforceFaults;
  close(): Promise<void>;
}

export async function startSalesforceSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const apiVersion = options.apiVersion ?? '62.0';
  if (!/^\d+\.\d$/.test(apiVersion)) throw new Error(`apiVersion must look like 62.0, not ${apiVersion}`);
  const now = options.now ?? (() => new Date());
  const clientId = options.clientId ?? '3MVG9sandbox.mcp-broker';
  const clientSecret = options.clientSecret ?? 'sandbox-client-secret';
  const username = options.username ?? 'integration@mcp-broker.sandbox';

  const ids = new RecordIdFactory();
  const orgId = ids.next('00D');
  const userId = ids.next('005');
  const schema = new SObjectSchema({ ...DEFAULT_SOBJECTS, ...options.objects });
  const injector = new FaultInjector();
  const sessions = new SessionStore(orgId);
  const store = new SObjectStore({ schema, ids, now, isRowLocked: (sobject) => injector.takeRowLock(sobject) });
  const platformEvents = new PlatformEvents({
    apiVersion,
    schema,
    sessions,
    faults: injector,
    now,
    retention: options.retention,
    longPollTimeoutMs: options.longPollTimeoutMs ?? 110_000,
    ...(options.maxEventsPerResponse === undefined ? {} : { maxEventsPerResponse: options.maxEventsPerResponse }),
  });

  let urls = { loginUrl: '', instanceUrl: '' };
  const handleToken = buildOAuthEndpoint({
    clientId,
    clientSecret,
    jwtPublicKey: options.jwtPublicKey,
    user: { userId, username },
    orgId,
    sessions,
    now,
    urls: () => urls,
  });
  const handleRest = buildRestRoutes({
    apiVersion,
    schema,
    store,
    sessions,
    faults: injector,
    dailyApiRequests: options.dailyApiRequests ?? 15_000,
    publish: (event) => platformEvents.publish(event),
    now,
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (platformEvents.handles(request)) {
      platformEvents.handle(request, response);
      return;
    }
    const url = new URL(request.url ?? '/', urls.instanceUrl);
    if (url.pathname === '/services/oauth2/token') return handleToken(request, response);
    if (url.pathname.startsWith('/services/data/')) return handleRest(request, response, url);
    sendJson(response, 404, notFound().errors);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        sendJson(response, 500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: (error as Error).message }]);
      } else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${host}:${address.port}`;
  urls = { loginUrl: origin, instanceUrl: origin };

  function typeNamed(sobject: string) {
    const type = schema.get(sobject.replace(/^\/event\//, ''));
    if (!type) throw new Error(`No object ${sobject} in the sandbox org`);
    return type;
  }

  function save(sobject: string, fields: Record<string, unknown>) {
    const type = typeNamed(sobject);
    const parsed = store.parse(type, fields, 'create');
    if (!parsed.ok) throw new Error(`${parsed.failure.errors[0]?.errorCode}: ${parsed.failure.errors[0]?.message}`);
    const outcome = store.create(type, parsed.fields, userId);
    if (!outcome.ok) throw new Error(`${outcome.error.errorCode}: ${outcome.error.message}`);
    return outcome;
  }

  return {
    ...urls,
    apiVersion,
    orgId,
    userId,
    username,
    clientId,
    clientSecret,
    publishEvent(channel, payload) {
      const outcome = save(channel, payload);
      if (!outcome.event) throw new Error(`${channel} is not a platform event`);
      const { event } = platformEvents.publish(outcome.event).data;
      return { replayId: event.replayId, eventUuid: event.EventUuid };
    },
    retainedEvents: (channel) => platformEvents.bus.retained(channel.startsWith('/') ? channel : `/event/${channel}`),
    records: (sobject) => store.records(typeNamed(sobject)).map((record) => ({ ...record })),
    insertRecord(sobject, fields) {
      const outcome = save(sobject, fields);
      if (outcome.event) throw new Error(`${sobject} is a platform event: use publishEvent`);
      return outcome.id;
    },
    streamingClientCount: () => platformEvents.clientCount,
    streamingQueuedEvents: () => platformEvents.queuedEvents,
    faults: buildFaults(injector, {
      expireSessions: () => {
        sessions.expireAll();
        platformEvents.flushConnections();
      },
      dropStreamingClients: () => platformEvents.dropClients(),
    }),
    async close() {
      platformEvents.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

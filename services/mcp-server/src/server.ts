import { bearerChallenge, protectedResourceMetadata } from '@mcp-broker/auth';
import { BrokerError, DEFAULT_MAX_JSON_DEPTH } from '@mcp-broker/contracts';
import { buildHttpServer, type Logger } from '@mcp-broker/runtime';
import type { Store } from '@mcp-broker/store';
import { brokerMeter, McpServerMetrics } from '@mcp-broker/telemetry';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AuditLog, type AuditLogOptions } from './governance/audit-log.ts';
import { registerGovernance, type TokenVerifier } from './governance/governance-pipeline.ts';
import { type RateLimitRule, RateLimits } from './governance/rate-limits.ts';
import { createProtocolServer } from './protocol/mcp-protocol-server.ts';
import type { TransportKind } from './protocol/request-context.ts';
import { type DocumentRoutesOptions, registerDocumentRoutes } from './routes/documents.ts';
import type { ToolDefinition } from './tools/tool-definition.ts';
import { ToolRegistry } from './tools/tool-registry.ts';
import { CancellationRelay } from './transports/cancellation-relay.ts';
import { handleSseMessage, registerLegacySse } from './transports/legacy-sse.ts';
import type { McpRouteDeps } from './transports/mcp-route-deps.ts';
import { registerMethodNotAllowed } from './transports/method-not-allowed.ts';
import { handlePlainJsonRpc } from './transports/plain-json-rpc.ts';
import { SseSessionRelay } from './transports/sse-session-relay.ts';
import { registerStreamableHttp } from './transports/streamable-http.ts';

export interface McpServerOptions {
  logger: Logger;
  store: Store;
  /** Command connection; the server duplicates it for its SSE subscriber. */
  redis: Redis;
  verifier: TokenVerifier;
  tools: readonly ToolDefinition[];
  /** Externally visible base URL, e.g. https://apim.example.com/mcp-api. */
  publicUrl: string;
  /** Token audience / resource identifier. */
  resource: string;
  /** Issuers listed as authorization servers in the RFC 9728 metadata. */
  authorizationServers: readonly string[];
  allowedOrigins?: readonly string[];
  /** Default 1 MiB. */
  bodyLimit?: number;
  /** Deepest JSON nesting of a message on any MCP transport; default 64 (`MAX_JSON_DEPTH`). */
  maxJsonDepth?: number;
  redisKeyPrefix: string;
  rateLimit: { perIdentity: RateLimitRule; perTool?: Record<string, RateLimitRule>; failMode?: 'closed' | 'open' };
  auditRetentionDays?: number;
  /** How audit records are buffered before they are written (defaults in AuditLog). */
  auditBuffer?: Pick<AuditLogOptions, 'batchSize' | 'flushIntervalMs' | 'maxBufferedRecords'>;
  /** Default 15 s. */
  sseKeepAliveMs?: number;
  /** Announced in `initialize`. */
  version?: string;
  /** Serves generated documents at `GET /documents/{id}` behind signed, expiring links. */
  documents?: DocumentRoutesOptions;
}

export interface McpServer {
  app: FastifyInstance;
  registry: ToolRegistry;
  audit: AuditLog;
  relay: SseSessionRelay;
  /**
   * Every `resource` its RFC 9728 metadata names (`PUBLIC_URL` and its `/mcp`, `/sse`, `/message`):
   * what a spec-following client sends as the RFC 8707 `resource` when it asks for a token.
   */
  resourceIndicators: readonly string[];
  /** Stops accepting requests, ends SSE streams, flushes audit records. */
  close(): Promise<void>;
}

/** Assembles the governed MCP server; `main.ts` and tests call this with real dependencies. */
export function buildMcpServer(options: McpServerOptions): McpServer {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const { logger } = options;
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const basePath = new URL(publicUrl).pathname.replace(/\/+$/, '');
  const metadataUrl = `${publicUrl}/.well-known/oauth-protected-resource`;
  const registry = new ToolRegistry(options.tools);
  const audit = new AuditLog({
    store: options.store,
    logger,
    ...(options.auditRetentionDays ? { retentionDays: options.auditRetentionDays } : {}),
    ...options.auditBuffer,
    // On the API's meter: a no-op unless startTelemetry registered the SDK.
    metrics: new McpServerMetrics(brokerMeter(), { tools: options.tools.map((t) => t.name) }),
  });
  // The subscriber queues commands until connected: subscriptions must survive reconnects.
  const subscriber = options.redis.duplicate({
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
  });
  subscriber.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis subscriber error'));
  const relay = new SseSessionRelay({
    redis: options.redis,
    subscriber,
    keyPrefix: options.redisKeyPrefix,
    ttlSeconds: Math.ceil(((options.sseKeepAliveMs ?? 15_000) * 3) / 1000),
    logger,
  });
  const cancellations = new CancellationRelay({
    redis: options.redis,
    subscriber,
    keyPrefix: options.redisKeyPrefix,
    logger,
  });
  const rateLimits = new RateLimits({
    redis: options.redis,
    keyPrefix: options.redisKeyPrefix,
    perIdentity: options.rateLimit.perIdentity,
    ...(options.rateLimit.perTool ? { perTool: options.rateLimit.perTool } : {}),
    ...(options.rateLimit.failMode ? { failMode: options.rateLimit.failMode } : {}),
    logger,
  });

  const app = buildHttpServer({
    logger,
    bodyLimit,
    maxJsonDepth,
    readiness: {
      store: () => options.store.ping(),
      redis: async () => {
        await options.redis.ping();
      },
    },
  });

  const protectedPaths = ['/mcp', '/sse', '/message'];
  const metadata = (suffix: string) =>
    protectedResourceMetadata({
      resource: `${publicUrl}${suffix}`,
      authorizationServers: options.authorizationServers,
      scopesSupported: registry.permissions(),
      resourceName: 'mcp-broker governed MCP server',
    });
  app.get('/.well-known/oauth-protected-resource', async () => metadata(''));
  app.get<{ Params: { '*': string } }>('/.well-known/oauth-protected-resource/*', async (request) => {
    const suffix = `/${request.params['*']}`;
    if (!protectedPaths.includes(suffix)) {
      throw new BrokerError('BROKER_NOT_FOUND', `No protected resource at ${suffix}.`);
    }
    return metadata(suffix);
  });

  // Outside the governed scope: the link's signature is the authorization (the browser has no token).
  if (options.documents) registerDocumentRoutes(app, options.documents);

  const routeDeps: McpRouteDeps = {
    createProtocolServer: () =>
      createProtocolServer({
        registry,
        store: options.store,
        audit,
        logger,
        info: { name: 'mcp-broker', version: options.version ?? '0.1.0' },
      }),
    relay,
    cancellations,
    logger,
    basePath,
    openStreams: new Set(),
    keepAliveMs: options.sseKeepAliveMs ?? 15_000,
    // Every call ends by its tool's timeout; past that (and a margin) the SDK dropped the request.
    exchangeTimeoutMs: Math.max(0, ...options.tools.map((t) => t.timeoutMs)) + 10_000,
    insufficientScopeChallenge: (scope) =>
      bearerChallenge({
        resourceMetadataUrl: metadataUrl,
        error: 'insufficient_scope',
        errorDescription: `The tool requires: ${scope}`,
        scope,
      }),
  };

  app.register(async (scope) => {
    registerGovernance(scope, {
      verifier: options.verifier,
      rateLimits,
      allowedOrigins: options.allowedOrigins ?? [],
      bodyLimit,
      maxJsonDepth,
      audit,
      challenge: (error) =>
        bearerChallenge({
          resourceMetadataUrl: metadataUrl,
          // RFC 6750 §3.1: a request without credentials gets no error code.
          ...(error.code === 'BROKER_TOKEN_MISSING'
            ? {}
            : { error: 'invalid_token' as const, errorDescription: error.message }),
        }),
      transportOf,
    });
    registerStreamableHttp(scope, routeDeps);
    registerLegacySse(scope, routeDeps);
    registerMethodNotAllowed(scope);
    scope.post<{ Querystring: { sessionId?: string } }>('/message', async (request, reply) => {
      const sessionId = request.query.sessionId;
      return sessionId
        ? handleSseMessage(routeDeps, sessionId, request, reply)
        : handlePlainJsonRpc(routeDeps, request, reply);
    });
  });

  return {
    app,
    registry,
    audit,
    relay,
    resourceIndicators: ['', ...protectedPaths].map((suffix) => `${publicUrl}${suffix}`),
    async close() {
      // SSE streams never end on their own; end them so in-flight requests can drain and close.
      const closing = app.close();
      for (const stream of routeDeps.openStreams) stream.end();
      await closing;
      await audit.flush();
      subscriber.disconnect();
    },
  };
}

function transportOf(request: FastifyRequest): TransportKind {
  const path = request.url.split('?')[0];
  if (path === '/mcp') return 'streamable-http';
  if (path === '/sse') return 'sse';
  return (request.query as { sessionId?: string } | undefined)?.sessionId ? 'sse' : 'json-rpc';
}

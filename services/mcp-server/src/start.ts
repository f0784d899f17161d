import { randomBytes } from 'node:crypto';
import { createTokenVerifier, entraIssuer, type IssuerConfig } from '@mcp-broker/auth';
import type { Logger } from '@mcp-broker/runtime';
import { generateSampleData, loadSampleData } from '@mcp-broker/sample-data';
import { createStore, type Store, storeOptionsFromEnv } from '@mcp-broker/store';
import { registerMetricsRoute, type ServiceTelemetry } from '@mcp-broker/telemetry';
import { Redis } from 'ioredis';
import type { McpServerConfig } from './config.ts';
import { BlobDocumentStorage } from './documents/blob-document-storage.ts';
import { CosmosDocumentStorage } from './documents/cosmos-document-storage.ts';
import { DocumentLinkSigner } from './documents/signed-link.ts';
import { buildMcpServer, type McpServer } from './server.ts';
import { buildGenerateContractTool } from './tools/generate-contract.ts';
import { productTools } from './tools/index.ts';

export interface StartedMcpServer {
  server: McpServer;
  store: Store;
  redis: Redis;
  /** The URL the server listens on (loopback address and real port). */
  url: string;
  close(): Promise<void>;
}

export interface StartOverrides {
  /** Use this store instead of creating one from config (the dev launcher shares one). */
  store?: Store;
  /** Extra trusted issuers (the dev launcher adds its OAuth server). */
  issuers?: IssuerConfig[];
  /** From startTelemetry: `GET /metrics` when the Prometheus exporter is on. */
  telemetry?: ServiceTelemetry;
}

/** Wires config into real dependencies and listens. `main.ts` and the dev launcher call this. */
export async function startMcpServer(
  config: McpServerConfig,
  logger: Logger,
  overrides: StartOverrides = {},
): Promise<StartedMcpServer> {
  const issuers: IssuerConfig[] = [
    ...config.OAUTH_ISSUERS.map((issuer) => ({ issuer })),
    ...(config.ENTRA_TENANT_ID ? [entraIssuer(config.ENTRA_TENANT_ID)] : []),
    ...(overrides.issuers ?? []),
  ];
  if (issuers.length === 0) {
    throw new Error('No token issuer configured: set OAUTH_ISSUERS and/or ENTRA_TENANT_ID.');
  }
  const store = overrides.store ?? (await createStore(storeOptionsFromEnv(config)));
  if (!overrides.store && store.embedded && config.EMBEDDED_SAMPLE_CUSTOMERS > 0) {
    // An embedded store starts empty; seed it so the tools have data to work on.
    const counts = await loadSampleData(store, generateSampleData({ customers: config.EMBEDDED_SAMPLE_CUSTOMERS }));
    logger.info({ counts }, 'embedded store seeded with sample data');
  }
  // Fail fast instead of queueing commands while Redis is down, so rate limits apply their fail mode.
  const redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  await redis.connect();

  const publicUrl = config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
  const storage = config.AZURE_STORAGE_CONNECTION_STRING
    ? BlobDocumentStorage.fromConnectionString(config.AZURE_STORAGE_CONNECTION_STRING, config.DOCUMENTS_BLOB_CONTAINER)
    : new CosmosDocumentStorage(store);
  let linkSecret = config.DOCUMENT_LINK_SECRET;
  if (!linkSecret) {
    if (!store.embedded) {
      throw new Error('DOCUMENT_LINK_SECRET is required with COSMOS_ENDPOINT (every replica must share it).');
    }
    linkSecret = randomBytes(32).toString('base64url');
    logger.info('DOCUMENT_LINK_SECRET unset: document links use a per-start key (embedded store only)');
  }
  const signer = new DocumentLinkSigner({ secret: linkSecret, baseUrl: publicUrl });
  const server = buildMcpServer({
    logger,
    store,
    redis,
    verifier: createTokenVerifier({ issuers, audience: config.MCP_RESOURCE }),
    tools: [
      ...productTools,
      buildGenerateContractTool({ storage, signer, linkTtlSeconds: config.DOCUMENT_LINK_TTL_SECONDS }),
    ],
    documents: { storage, signer },
    publicUrl,
    resource: config.MCP_RESOURCE,
    authorizationServers: issuers.map((i) => i.issuer),
    allowedOrigins: config.ALLOWED_ORIGINS,
    bodyLimit: config.BODY_LIMIT_BYTES,
    maxJsonDepth: config.MAX_JSON_DEPTH,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    rateLimit: {
      perIdentity: { points: config.RATE_LIMIT_PER_MINUTE, windowSeconds: 60 },
      perTool: Object.fromEntries(
        Object.entries(config.RATE_LIMIT_TOOLS).map(([tool, points]) => [tool, { points, windowSeconds: 60 }]),
      ),
      failMode: config.RATE_LIMIT_FAIL_MODE,
    },
    auditRetentionDays: config.AUDIT_RETENTION_DAYS,
    sseKeepAliveMs: config.SSE_KEEPALIVE_SECONDS * 1000,
  });
  if (overrides.telemetry?.prometheus) registerMetricsRoute(server.app, overrides.telemetry.prometheus);
  const url = await server.app.listen({ host: config.HOST, port: config.PORT });
  logger.info({ url, store: store.embedded ? 'embedded' : 'cosmos', issuers: issuers.length }, 'mcp-server listening');
  return {
    server,
    store,
    redis,
    url,
    async close() {
      await server.close();
      redis.disconnect();
      if (!overrides.store) await store.close();
    },
  };
}

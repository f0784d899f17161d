import { randomUUID } from 'node:crypto';
import { createTokenVerifier } from '@mcp-broker/auth';
import { type LocalTestIssuer, startLocalTestIssuer } from '@mcp-broker/auth/testing';
import { createLogger, type Logger } from '@mcp-broker/runtime';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { buildMcpServer, type McpServer, type McpServerOptions } from '../src/server.ts';
import type { ToolDefinition } from '../src/tools/tool-definition.ts';
import { testTools } from './test-tools.ts';

export const RESOURCE = 'api://mcp-broker-test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Harness {
  issuer: LocalTestIssuer;
  store: Store;
  prefix: string;
  logger: Logger;
  /** Starts one server replica on an ephemeral port. */
  startReplica(overrides?: Partial<McpServerOptions>): Promise<Replica>;
  /** A token for an app identity holding these roles. */
  token(roles: string[], claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface Replica {
  server: McpServer;
  url: string;
  redis: Redis;
  close(): Promise<void>;
}

/**
 * Real peers for MCP server tests: a loopback token issuer (discovery + JWKS), the embedded
 * Cosmos-compatible store, and the real Redis with a key prefix unique to this run.
 */
export async function startHarness(options: { tools?: readonly ToolDefinition[] } = {}): Promise<Harness> {
  const issuer = await startLocalTestIssuer();
  const store = await createStore({ databaseId: `test-${randomUUID()}` });
  const prefix = `test:${randomUUID()}:`;
  const logger = createLogger({ name: 'mcp-server-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const replicas: Replica[] = [];

  return {
    issuer,
    store,
    prefix,
    logger,
    async startReplica(overrides = {}) {
      const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
      redis.on('error', () => {});
      await redis.connect();
      const server = buildMcpServer({
        logger,
        store,
        redis,
        verifier: createTokenVerifier({ issuers: [{ issuer: issuer.issuer }], audience: RESOURCE }),
        tools: options.tools ?? testTools,
        publicUrl: 'https://mcp.example.test',
        resource: RESOURCE,
        authorizationServers: [issuer.issuer],
        redisKeyPrefix: prefix,
        rateLimit: { perIdentity: { points: 1000, windowSeconds: 60 } },
        sseKeepAliveMs: 200,
        ...overrides,
      });
      const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
      const replica: Replica = {
        server,
        url,
        redis,
        async close() {
          await server.close();
          redis.disconnect();
        },
      };
      replicas.push(replica);
      return replica;
    },
    token(roles, claims = {}) {
      return issuer.sign({ sub: 'app-1', azp: 'client-app-1', roles, aud: RESOURCE, ...claims });
    },
    async close() {
      await Promise.allSettled(replicas.map((r) => r.close()));
      const cleanup = new Redis(REDIS_URL);
      const keys = await cleanup.keys(`${prefix}*`);
      if (keys.length) await cleanup.del(...keys);
      cleanup.disconnect();
      await store.close();
      await issuer.close();
    },
  };
}

/**
 * Broker benchmark child: the embedded Cosmos-compatible server that ingress, worker and MCP server
 * share, with the database and containers created before the services start (so they do not race
 * to create them). Env: BENCH_DATABASE, BENCH_COSMOS_KEEPALIVE.
 *
 * BENCH_COSMOS_KEEPALIVE=0 runs `startEmbeddedCosmos` exactly. By default the same server (same
 * @vercel/cosmosdb-server, same linear-query patch) is created with `keepAlive: true`, as the MCP
 * benchmark does: otherwise it answers every request with `Connection: close`, so each of the
 * broker's Cosmos operations would open a new TCP connection, which Azure Cosmos DB does not make
 * clients do.
 */
import type { AddressInfo } from 'node:net';
import { createStore, type EmbeddedCosmos, startEmbeddedCosmos } from '@mcp-broker/store';
import { createHttpServer } from '@vercel/cosmosdb-server';
// Not exported by the package: the embedded server's linear-time query patch, applied as startEmbeddedCosmos does.
import { patchQueryEngine } from '../../../shared/store/src/embedded-cosmos.ts';
import { announceReady, requiredEnv, serveParent } from '../mcp/ipc.ts';

const databaseId = requiredEnv('BENCH_DATABASE');
const keepAlive = process.env.BENCH_COSMOS_KEEPALIVE !== '0';
// The embedded server accepts any key; the SDK wants base64.
const key = Buffer.from('bench-embedded-cosmos').toString('base64');

/** Requests served, by HTTP method (GET read, PUT replace, POST create or query, DELETE); keep-alive server only. */
const requests: Record<string, number> = {};

async function startKeepAliveCosmos(): Promise<EmbeddedCosmos> {
  if (!patchQueryEngine().applied) throw new Error('the embedded Cosmos query patch did not apply');
  const server = createHttpServer({ keepAlive: true } as Parameters<typeof createHttpServer>[0]);
  server.prependListener('request', (req) => {
    const method = req.method ?? '?';
    requests[method] = (requests[method] ?? 0) + 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cosmos = keepAlive ? await startKeepAliveCosmos() : await startEmbeddedCosmos({ host: '127.0.0.1' });
const store = await createStore({ endpoint: cosmos.endpoint, key, databaseId });

serveParent(
  {
    /** Requests served so far by method; null when the server is startEmbeddedCosmos's (not observable). */
    requests: async () => (keepAlive ? { ...requests } : null),
    /** Tool-call records by status (checks that every submitted call ended once, as succeeded). */
    toolCallStatuses: async () => {
      const counts: Record<string, number> = {};
      for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) {
        const { resources } = await store
          .container('toolCalls')
          .items.query<number>({
            query: 'SELECT VALUE COUNT(1) FROM c WHERE c.status = @status',
            parameters: [{ name: '@status', value: status }],
          })
          .fetchAll();
        const n = resources.reduce((sum, x) => sum + x, 0);
        if (n > 0) counts[status] = n;
      }
      return counts;
    },
  },
  async () => {
    await store.close();
    await cosmos.close();
  },
);
announceReady({ endpoint: cosmos.endpoint, key, databaseId, keepAlive, pid: process.pid });

/**
 * Benchmark child: the embedded Cosmos-compatible server, shared by both MCP servers and seeded
 * once with the sample data set through the same `createStore({ endpoint, key })` path the
 * servers use. Env: BENCH_DATABASE, BENCH_CUSTOMERS, BENCH_COSMOS_KEEPALIVE.
 *
 * BENCH_COSMOS_KEEPALIVE=0 runs `startEmbeddedCosmos` exactly. By default the same server (same
 * @vercel/cosmosdb-server, same linear-query patch) is created with `keepAlive: true`: otherwise it
 * answers every request with `Connection: close`, so every Cosmos operation of both MCP servers
 * would open a new TCP connection, which Azure Cosmos DB does not make clients do.
 */
import type { AddressInfo } from 'node:net';
import { generateSampleData, loadSampleData } from '@mcp-broker/sample-data';
import { createStore, type EmbeddedCosmos, startEmbeddedCosmos } from '@mcp-broker/store';
import { createHttpServer } from '@vercel/cosmosdb-server';
// Not exported by the package: the embedded server's linear-time query patch, applied as startEmbeddedCosmos does.
import { patchQueryEngine } from '../../../shared/store/src/embedded-cosmos.ts';
import { announceReady, requiredEnv, serveParent } from './ipc.ts';

const databaseId = requiredEnv('BENCH_DATABASE');
const customers = Number(process.env.BENCH_CUSTOMERS ?? 200);
const keepAlive = process.env.BENCH_COSMOS_KEEPALIVE !== '0';
// The embedded server accepts any key; the SDK wants base64.
const key = Buffer.from('bench-embedded-cosmos').toString('base64');

async function startKeepAliveCosmos(): Promise<EmbeddedCosmos> {
  if (!patchQueryEngine().applied) throw new Error('the embedded Cosmos query patch did not apply');
  const server = createHttpServer({ keepAlive: true } as Parameters<typeof createHttpServer>[0]);
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
const seedStarted = performance.now();
const counts = await loadSampleData(store, generateSampleData({ customers }));
const seedMs = Math.round(performance.now() - seedStarted);

serveParent(
  {
    /** How many audit records the governed server wrote (checks that audit was on for every call). */
    auditCount: async () => {
      const { resources } = await store
        .container('audit')
        .items.query<number>('SELECT VALUE COUNT(1) FROM c')
        .fetchAll();
      return resources.reduce((sum, n) => sum + n, 0);
    },
  },
  async () => {
    await store.close();
    await cosmos.close();
  },
);
announceReady({ endpoint: cosmos.endpoint, key, databaseId, counts, seedMs, keepAlive });

/**
 * Broker benchmark child: the embedded Cosmos-compatible server (`startEmbeddedCosmos`, as the
 * services' embedded default) that ingress, worker and MCP server share, with the database and
 * containers created before the services start (so they do not race to create them). Requests are
 * counted by method through Node's `http.server.request.start` diagnostics channel, so the runner
 * can report Cosmos round trips per call. Env: BENCH_DATABASE.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { createStore, startEmbeddedCosmos } from '@mcp-broker/store';
import { announceReady, requiredEnv, serveParent } from '../mcp/ipc.ts';

const databaseId = requiredEnv('BENCH_DATABASE');
// The embedded server accepts any key; the SDK wants base64.
const key = Buffer.from('bench-embedded-cosmos').toString('base64');

/** Requests served so far, by HTTP method (GET read, PUT replace, POST create or query, DELETE). */
const requests: Record<string, number> = {};
subscribe('http.server.request.start', (message) => {
  const method = (message as { request: IncomingMessage }).request.method ?? '?';
  requests[method] = (requests[method] ?? 0) + 1;
});

const cosmos = await startEmbeddedCosmos({ host: '127.0.0.1' });
const store = await createStore({ endpoint: cosmos.endpoint, key, databaseId });

serveParent(
  {
    requests: async () => ({ ...requests }),
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
announceReady({ endpoint: cosmos.endpoint, key, databaseId, pid: process.pid });

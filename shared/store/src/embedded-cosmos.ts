import type { AddressInfo } from 'node:net';
import { createHttpServer } from '@vercel/cosmosdb-server';

export interface EmbeddedCosmos {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts the in-process Cosmos-compatible server on loopback. It speaks the Cosmos REST protocol,
 * so the real `@azure/cosmos` client is used against it; state lives in memory for the process.
 * It does not expire items by TTL (real Cosmos DB does).
 */
export async function startEmbeddedCosmos(options: { port?: number; host?: string } = {}): Promise<EmbeddedCosmos> {
  const server = createHttpServer();
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

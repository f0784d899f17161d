import { createServer } from 'node:net';

/**
 * A port free right now on loopback. For a server whose own URL must be known before it listens
 * (the MCP server signs document links with it), where port 0 would not do.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The port to give a server whose URL is built before it listens: the one asked for, or a free
 * one for 0. Ingress builds its public URL (a 202's statusUrl and Location, the OpenAPI servers)
 * from its configured PORT, so port 0 would print `http://127.0.0.1:0/…` links.
 */
export async function knownPort(requested: number): Promise<number> {
  return requested === 0 ? await freePort() : requested;
}

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

import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '@mcp-broker/redis-process';

/**
 * A loopback TCP proxy that can be taken down and brought back on the same port: while down,
 * connections are refused and open ones are cut, as when a store's endpoint becomes unreachable.
 * (`shared/mcp-client/test-support/tcp-proxy.ts` switches upstreams but cannot stop listening.)
 */
export class OutageProxy {
  readonly port: number;
  readonly #target: { host: string; port: number };
  readonly #open = new Set<Socket>();
  #server: Server | undefined;

  private constructor(port: number, target: URL) {
    this.port = port;
    this.#target = { host: target.hostname, port: Number(target.port) };
  }

  static async start(target: string): Promise<OutageProxy> {
    const proxy = new OutageProxy(await freePort(), new URL(target));
    await proxy.up();
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => {
      const remote = connect(this.#target.port, this.#target.host);
      this.#open.add(client);
      this.#open.add(remote);
      const drop = () => {
        client.destroy();
        remote.destroy();
        this.#open.delete(client);
        this.#open.delete(remote);
      };
      client.on('error', drop).on('close', drop);
      remote.on('error', drop).on('close', drop);
      client.pipe(remote);
      remote.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  /** Refuses new connections and cuts the open ones. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.down();
  }
}

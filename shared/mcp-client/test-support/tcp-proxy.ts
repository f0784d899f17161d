import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy whose upstream can be switched, standing in for a load balancer or APIM in
 * front of MCP server replicas: a client keeps one URL while replicas stop and start behind it.
 */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Sends new connections to this `http://host:port` (existing ones keep their upstream). */
  setTarget(url: string): void;
  /** Cuts every open connection (both sides), as a restarting upstream or a dropped network would. */
  dropConnections(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  let upstream = new URL(target);
  let accepted = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted += 1;
    const remote = connect(Number(upstream.port), upstream.hostname);
    open.add(client);
    open.add(remote);
    const drop = () => {
      client.destroy();
      remote.destroy();
      open.delete(client);
      open.delete(remote);
    };
    client.on('error', drop).on('close', drop);
    remote.on('error', drop).on('close', drop);
    client.pipe(remote);
    remote.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get accepted() {
      return accepted;
    },
    setTarget(next) {
      upstream = new URL(next);
    },
    dropConnections() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    close() {
      for (const socket of open) socket.destroy();
      open.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL on which nothing listens (a port that was bound and released). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

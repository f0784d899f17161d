import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * A tiny HTTP peer answering from a script, for the documented error shapes a real server here
 * cannot be made to produce on demand (a token endpoint answering 503 or 429).
 */
export interface HttpSandbox {
  readonly url: string;
  /** Requests received (method, path, body). */
  readonly requests: { method: string; path: string; body: string; headers: IncomingMessage['headers'] }[];
  /** Queues responses; when the queue is empty the last one repeats. */
  respond(...responses: SandboxResponse[]): void;
  close(): Promise<void>;
}

export async function startHttpSandbox(): Promise<HttpSandbox> {
  const queue: SandboxResponse[] = [];
  let last: SandboxResponse = { status: 404 };
  const requests: HttpSandbox['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        body: Buffer.concat(chunks).toString('utf8'),
        headers: req.headers,
      });
      const response = queue.shift() ?? last;
      last = response;
      const body =
        response.body === undefined
          ? ''
          : typeof response.body === 'string'
            ? response.body
            : JSON.stringify(response.body);
      res.writeHead(response.status, {
        ...(typeof response.body === 'object' ? { 'content-type': 'application/json' } : {}),
        ...response.headers,
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    respond(...responses) {
      queue.push(...responses);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

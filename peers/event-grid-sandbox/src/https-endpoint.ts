import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSelfSignedCertificate, type SelfSignedCertificate } from './tls-certificate.ts';

export interface SandboxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A fault the next requests meet before the sandbox looks at them. */
export type Fault = { kind: 'status'; status: number; retryAfterSeconds?: number } | { kind: 'drop' };

export interface HttpsEndpoint {
  url: string;
  certificate: SelfSignedCertificate;
  /** The next `count` requests meet `fault` (an HTTP status, or a connection dropped without an answer). */
  failNext(count: number, fault: Fault): void;
  close(): Promise<void>;
}

/** Bodies past this are cut off and answered 413 without reading on: far above any service limit. */
const READ_LIMIT = 4 * 1024 * 1024;

/** An https server on loopback that hands whole requests to `handle` and writes what it returns as JSON. */
export async function startHttpsEndpoint(
  handle: (request: SandboxRequest) => Promise<SandboxResponse> | SandboxResponse,
  certificate: SelfSignedCertificate = createSelfSignedCertificate(),
): Promise<HttpsEndpoint> {
  const faults: Fault[] = [];
  const server: Server = createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    const fault = faults.shift();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      res
        .writeHead(fault.status, headers)
        .end(JSON.stringify({ error: { code: statusCode(fault.status), message: `Injected fault ${fault.status}.` } }));
      return;
    }
    readBody(req)
      .then(async (body) => {
        const url = new URL(req.url ?? '/', 'https://sandbox');
        const answer =
          body === undefined
            ? { status: 413, body: { error: { code: 'RequestEntityTooLarge', message: 'Body too large.' } } }
            : await handle({
                method: req.method ?? 'GET',
                path: url.pathname,
                query: url.searchParams,
                headers: req.headers,
                body,
              });
        write(res, answer);
      })
      .catch((error: unknown) => {
        write(res, { status: 500, body: { error: { code: 'InternalServerError', message: String(error) } } });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    certificate,
    failNext(count, fault) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > READ_LIMIT) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, answer: SandboxResponse): void {
  const headers = { ...(answer.body === undefined ? {} : { 'content-type': 'application/json' }), ...answer.headers };
  res.writeHead(answer.status, headers).end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
}

function statusCode(status: number): string {
  if (status === 429) return 'TooManyRequests';
  if (status === 503) return 'ServiceUnavailable';
  if (status >= 500) return 'InternalServerError';
  return 'BadRequest';
}

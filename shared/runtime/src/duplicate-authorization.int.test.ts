import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from './http-server.ts';
import { createLogger } from './logger.ts';

const logger = createLogger({ name: 't', level: 'silent' });

/** Sends raw HTTP/1.1, since fetch and inject merge or drop repeated headers before they reach the wire. */
function rawRequest(port: number, lines: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${lines.join('\r\n')}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('repeated Authorization header', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  async function start() {
    const app = buildHttpServer({ logger });
    let ran = 0;
    app.get('/who', async (request) => {
      ran += 1;
      return { authorization: request.headers.authorization ?? null };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
    const port = (app.server.address() as { port: number }).port;
    return { port, ran: () => ran };
  }

  it('refuses two Authorization headers with 400 naming the header, before the route runs', async () => {
    const { port, ran } = await start();
    const res = await rawRequest(port, [
      'GET /who HTTP/1.1',
      'Authorization: Bearer first',
      'X-Request-ID: dup-1',
      'authorization: Bearer second',
    ]);
    expect(res.status).toBe(400);
    // Chunked or not, the JSON body is the last line.
    const json = JSON.parse(
      res.body
        .trim()
        .split('\r\n')
        .find((line) => line.startsWith('{')) ?? '{}',
    );
    expect(json.error).toMatchObject({ code: 'BROKER_VALIDATION_FAILED', requestId: 'dup-1' });
    expect(json.error.message).toMatch(/Authorization/);
    expect(json.error.details.fields).toEqual([
      { field: 'headers.authorization', problem: 'sent 2 times; send exactly one' },
    ]);
    expect(res.body).not.toContain('first');
    expect(ran()).toBe(0);
  });

  it('passes a single Authorization header', async () => {
    const { port, ran } = await start();
    const res = await rawRequest(port, ['GET /who HTTP/1.1', 'Authorization: Bearer only']);
    expect(res.status).toBe(200);
    expect(ran()).toBe(1);
  });
});

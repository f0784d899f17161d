import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpointSchema } from '@mcp-broker/broker-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointReachabilityChecks } from './endpoint-reachability.ts';

/** An HTTP server answering every request with `status` (or never, for `hang`). */
async function serve(answer: number | 'hang'): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} auth=${req.headers.authorization ?? 'none'}`);
    if (answer !== 'hang') res.writeHead(answer).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server, requests };
}

const servers: Server[] = [];
let up: Awaited<ReturnType<typeof serve>>;
let gatewayDown: Awaited<ReturnType<typeof serve>>;
let hanging: Awaited<ReturnType<typeof serve>>;
let closedUrl: string;

beforeAll(async () => {
  up = await serve(401);
  gatewayDown = await serve(503);
  hanging = await serve('hang');
  const closed = await serve(200);
  closedUrl = closed.url;
  await new Promise((r) => closed.server.close(r));
  servers.push(up.server, gatewayDown.server, hanging.server);
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const checksFor = (urls: Record<string, string>, timeoutMs = 300) =>
  endpointReachabilityChecks(
    Object.fromEntries(Object.entries(urls).map(([id, url]) => [id, endpointSchema.parse({ url })])),
    { timeoutMs },
  );

describe('endpointReachabilityChecks', () => {
  it('names a refused connection, a gateway answering 503 and an endpoint that does not answer in time', async () => {
    const checks = checksFor({ refused: closedUrl, gateway: gatewayDown.url, slow: hanging.url });
    expect(Object.keys(checks)).toEqual(['mcp:refused', 'mcp:gateway', 'mcp:slow']);
    await expect(checks['mcp:refused']?.()).rejects.toThrow(
      /MCP endpoint refused \(127\.0\.0\.1:\d+\) is unreachable \(ECONNREFUSED\)/,
    );
    await expect(checks['mcp:gateway']?.()).rejects.toThrow(/MCP endpoint gateway \(127\.0\.0\.1:\d+\) answered 503/);
    const started = Date.now();
    await expect(checks['mcp:slow']?.()).rejects.toThrow(/did not answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('counts any other answer as reachable (401 without a token), and sends no credentials', async () => {
    await expect(checksFor({ up: up.url })['mcp:up']?.()).resolves.toBeUndefined();
    expect(up.requests.at(-1)).toBe('GET /mcp auth=none');
  });
});

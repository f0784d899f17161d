/**
 * Benchmark child for `step-costs.ts`: a keep-alive HTTP server on loopback that drains each
 * request's body and answers `200 {"ok":true}`, so the requests' client side can be measured in the
 * parent and the server side here (the `cpu` op).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, serveParent } from '../mcp/ipc.ts';

const server = createServer({ keepAlive: true }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
});
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

serveParent({}, async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
announceReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });

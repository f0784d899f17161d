import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { PingRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { SingleExchangeTransport } from './single-exchange-transport.ts';

async function connected(configure: (server: Server) => void = () => {}) {
  const server = new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } });
  configure(server);
  const transport = new SingleExchangeTransport();
  // As plain /message wires it: the SDK reports a message it drops only through onerror.
  server.onerror = () => transport.failPending('the server could not handle it', 'BROKER_INTERNAL');
  await server.connect(transport);
  return { server, transport };
}

describe('single-exchange transport', () => {
  it('answers with the SDK response', async () => {
    const { transport } = await connected();
    expect(await transport.exchange({ jsonrpc: '2.0', id: 1, method: 'ping' }, {}, 1000)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: {},
    });
  });

  it('ends the exchange with an error when the SDK drops a message it cannot read', async () => {
    const { transport } = await connected();
    const started = Date.now();
    // What the gate now refuses earlier: the SDK drops it silently, without an answer.
    const reply = await transport.exchange(
      { jsonrpc: '2.0', id: 4, method: 'ping', params: { _meta: { progressToken: [1] } } } as never,
      {},
      60_000,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reply).toMatchObject({ id: 4, error: { code: -32603, data: { code: 'BROKER_INTERNAL' } } });
  });

  it('ends the exchange at its timeout when no answer ever comes', async () => {
    const { transport } = await connected((server) =>
      server.setRequestHandler(PingRequestSchema, () => new Promise<never>(() => {})),
    );
    const reply = await transport.exchange({ jsonrpc: '2.0', id: 'p', method: 'ping' }, {}, 100);
    expect(reply).toMatchObject({
      id: 'p',
      error: { code: -32603, message: expect.stringContaining('no response within 100 ms') },
    });
  });
});

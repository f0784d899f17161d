import { BrokerError } from '@mcp-broker/contracts';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { hijack } from '../governance/governance-pipeline.ts';
import { toAuthInfo } from '../protocol/request-context.ts';
import type { McpRouteDeps } from './mcp-route-deps.ts';

/**
 * Streamable HTTP at `/mcp`, stateless: every POST carries everything needed, so any replica can
 * answer it and no sticky sessions or shared session state are required. Responses stream as SSE
 * (progress notifications travel on the same response) or plain JSON, as the SDK negotiates.
 * With no sessions there is no standalone GET stream and nothing to DELETE: both answer 405, which
 * the specification allows and the SDK clients expect.
 */
export function registerStreamableHttp(scope: FastifyInstance, deps: McpRouteDeps): void {
  scope.post('/mcp', async (request, reply) => {
    const { context, gated } = request.mcp!;
    if (gated?.kind === 'notification' && gated.message.method === 'notifications/cancelled') {
      const requestId = gated.message.params?.requestId;
      if (typeof requestId === 'string' || typeof requestId === 'number') {
        await deps.cancellations.cancel(context.identity, requestId);
      }
      reply.status(202);
      return '';
    }
    const server = deps.createProtocolServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    const untrack =
      gated?.kind === 'request'
        ? deps.cancellations.track(context.identity, gated.message.id, () => {
            transport.onmessage?.({
              jsonrpc: '2.0',
              method: 'notifications/cancelled',
              params: { requestId: gated.message.id, reason: 'cancelled by the client' },
            });
            // The SDK answers nothing for a cancelled request; end the response stream instead.
            void transport.close();
          })
        : undefined;
    const end = () => {
      untrack?.();
      void transport.close();
      void server.close();
    };
    reply.raw.on('close', end);
    hijack(reply);
    // A client that hung up while the request was being authenticated never fires 'close' again:
    // end now, or the tool would run to its timeout for nobody.
    if (request.raw.socket?.destroyed || reply.raw.closed) {
      end();
      return;
    }
    Object.assign(request.raw, { auth: toAuthInfo(context) });
    await transport.handleRequest(request.raw, reply.raw, gated?.message);
  });

  const notAllowed = async (_request: unknown, reply: { header(n: string, v: string): unknown }) => {
    reply.header('allow', 'POST');
    throw new BrokerError(
      'BROKER_METHOD_NOT_ALLOWED',
      'This server is stateless: POST each JSON-RPC message to /mcp; there is no session stream to open or delete.',
    );
  };
  scope.get('/mcp', notAllowed);
  scope.delete('/mcp', notAllowed);
}

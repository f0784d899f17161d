import { BrokerError } from '@mcp-broker/contracts';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hijack } from '../governance/governance-pipeline.ts';
import { toAuthInfo } from '../protocol/request-context.ts';
import type { McpRouteDeps } from './mcp-route-deps.ts';

/**
 * The 2024-11-05 HTTP+SSE transport: `GET /sse` opens the stream and announces
 * `/message?sessionId=…`; responses travel back on the stream. POSTs may land on any replica:
 * the relay carries them to the one holding the stream.
 */
export function registerLegacySse(scope: FastifyInstance, deps: McpRouteDeps): void {
  scope.get('/sse', async (request, reply) => {
    const { context } = request.mcp!;
    const transport = new SSEServerTransport(`${deps.basePath}/message`, reply.raw);
    const server = deps.createProtocolServer();
    const sessionId = transport.sessionId;
    const log = request.log.child({ sessionId });

    await deps.relay.open(sessionId, context.identity, (message, ctx) =>
      transport.handleMessage(message, { authInfo: toAuthInfo(ctx) }),
    );
    reply.raw.setHeader('x-accel-buffering', 'no');
    hijack(reply);
    await server.connect(transport);
    log.info('SSE session opened');

    // Comments keep proxies (APIM, ingress controllers) from closing an idle stream.
    const keepAlive = setInterval(() => {
      if (reply.raw.writableEnded) return;
      reply.raw.write(': keep-alive\n\n');
      deps.relay.touch(sessionId).catch((err: unknown) => log.warn({ err }, 'SSE session refresh failed'));
    }, deps.keepAliveMs);
    keepAlive.unref();

    deps.openStreams.add(reply.raw);
    reply.raw.on('close', () => {
      deps.openStreams.delete(reply.raw);
      clearInterval(keepAlive);
      void deps.relay.close(sessionId);
      void server.close();
      log.info('SSE session closed');
    });
  });
}

/** `POST /message?sessionId=…`: a message for an SSE session, wherever its stream lives. */
export async function handleSseMessage(
  deps: McpRouteDeps,
  sessionId: string,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const { context, gated } = request.mcp!;
  // A foreign session looks exactly like a missing one: ids are not an oracle.
  if (!(await deps.relay.isOwner(sessionId, context.identity))) throw sessionNotFound(sessionId);
  if (!gated) throw new BrokerError('BROKER_JSONRPC_INVALID_REQUEST', 'Empty message.');
  const delivered = await deps.relay.deliver(sessionId, gated.message as JSONRPCMessage, context);
  if (!delivered) throw sessionNotFound(sessionId);
  reply.status(202);
  return 'Accepted';
}

function sessionNotFound(sessionId: string) {
  return new BrokerError(
    'BROKER_SESSION_NOT_FOUND',
    `No open SSE session "${sessionId.slice(0, 64)}" for this caller; open one with GET /sse.`,
  );
}

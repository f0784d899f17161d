import { JsonRpcErrorCode } from '@mcp-broker/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusForJsonRpcError } from '../protocol/json-rpc-errors.ts';
import { toAuthInfo } from '../protocol/request-context.ts';
import type { McpRouteDeps } from './mcp-route-deps.ts';
import { SingleExchangeTransport } from './single-exchange-transport.ts';

/**
 * `POST /message` without a session id: one JSON-RPC request in, its response in the HTTP body,
 * with an HTTP status that matches the outcome (what Apex `HttpRequest` and curl expect).
 * A notification gets 202. A client that disconnects cancels the tool call.
 */
export async function handlePlainJsonRpc(deps: McpRouteDeps, request: FastifyRequest, reply: FastifyReply) {
  const { context, gated } = request.mcp!;
  const server = deps.createProtocolServer();
  const transport = new SingleExchangeTransport();
  // The SDK reports a message it could not dispatch only here; the caller must still get an answer.
  server.onerror = (err) => {
    const ended = transport.failPending(
      `the server could not handle it; quote request id ${context.requestId}`,
      'BROKER_INTERNAL',
    );
    // A stray response or notification the SDK ignores is the caller's business, not an incident.
    if (ended) request.log.error({ err }, 'the MCP server dropped the request; answered with an error');
    else request.log.info({ reason: err.message.slice(0, 200) }, 'the MCP server ignored a message');
  };
  await server.connect(transport);
  const extra = { authInfo: toAuthInfo(context) };
  try {
    if (gated?.kind !== 'request') {
      if (gated?.kind === 'notification' && gated.message.method === 'notifications/cancelled') {
        const requestId = gated.message.params?.requestId;
        if (typeof requestId === 'string' || typeof requestId === 'number') {
          await deps.cancellations.cancel(context.identity, requestId);
        }
      } else if (gated) {
        transport.notify(gated.message as never, extra);
      }
      reply.status(202);
      return '';
    }
    const id = gated.message.id;
    const cancel = (reason: string) => {
      transport.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } }, extra);
      transport.cancelPending(reason);
    };
    const untrack = deps.cancellations.track(context.identity, id, () => cancel('cancelled by the client'));
    reply.raw.on('close', () => {
      untrack();
      if (!reply.raw.writableEnded) cancel('client disconnected');
    });
    const response = await transport.exchange(gated.message as never, extra, deps.exchangeTimeoutMs);
    untrack();
    if ('error' in response) {
      const error = response.error as { code: number; data?: { missingPermissions?: string[]; requestId?: string } };
      if (error.data && !error.data.requestId) error.data.requestId = context.requestId;
      reply.status(httpStatusForJsonRpcError(error.code));
      if (error.code === JsonRpcErrorCode.Forbidden && error.data?.missingPermissions) {
        reply.header('www-authenticate', deps.insufficientScopeChallenge(error.data.missingPermissions.join(' ')));
      }
    }
    return response;
  } finally {
    await server.close();
  }
}

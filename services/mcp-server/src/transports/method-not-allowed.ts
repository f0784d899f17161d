import { BrokerError } from '@mcp-broker/contracts';
import type { FastifyInstance, HTTPMethods } from 'fastify';

/** The methods each MCP path serves; other methods on these paths answer 405 with `Allow`. */
const served: Record<string, { allow: string; hint: string }> = {
  '/mcp': { allow: 'POST', hint: 'POST each JSON-RPC message to /mcp.' },
  '/sse': { allow: 'GET', hint: 'Open the legacy SSE stream with GET /sse.' },
  '/message': { allow: 'POST', hint: 'POST JSON-RPC messages to /message (with ?sessionId=… for an SSE session).' },
};

// GET and DELETE on /mcp are answered by the Streamable HTTP transport itself (stateless: no stream, no session).
const alreadyRouted: Record<string, readonly HTTPMethods[]> = { '/mcp': ['GET', 'DELETE'] };
const methods: readonly HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

/**
 * A path that exists but not for this method is 405, not 404 (RFC 9110 §15.5.6), so a client that
 * sent `GET /message` or `POST /sse` learns which method to use. Registered inside the governed
 * scope: a caller without a token gets 401 first, as on every MCP route.
 */
export function registerMethodNotAllowed(scope: FastifyInstance): void {
  for (const [path, { allow, hint }] of Object.entries(served)) {
    const others = methods.filter((m) => m !== allow && !(alreadyRouted[path] ?? []).includes(m));
    scope.route({
      method: [...others],
      url: path,
      handler: async (request, reply) => {
        reply.header('allow', allow);
        throw new BrokerError('BROKER_METHOD_NOT_ALLOWED', `${request.method} is not served at ${path}; ${hint}`, {
          details: { allow: [allow] },
        });
      },
    });
  }
}

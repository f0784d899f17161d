import { BrokerError } from '@mcp-broker/contracts';
import type { FastifyInstance, HTTPMethods } from 'fastify';

/** The methods each API path serves (routes/tool-calls.ts); the others answer 405 with `Allow`. */
const served: Record<string, readonly HTTPMethods[]> = {
  '/v1/tool-calls': ['GET', 'POST'],
  '/v1/tool-calls/:id': ['GET'],
  '/v1/tool-calls/:id/cancel': ['POST'],
  '/v1/dead-letters': ['GET'],
  '/v1/dead-letters/replay': ['POST'],
  '/v1/dead-letters/:id/replay': ['POST'],
};
const methods: readonly HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

/**
 * A path that exists but not for this method is 405, not 404 (RFC 9110 §15.5.6): a client that
 * sent `DELETE /v1/tool-calls/{id}` learns that the resource is there and which methods it takes.
 * Registered inside the authenticated scope, so a caller without credentials gets 401 first, and
 * hidden from the OpenAPI document.
 */
export function registerMethodNotAllowed(scope: FastifyInstance): void {
  for (const [path, allow] of Object.entries(served)) {
    scope.route({
      method: methods.filter((m) => !allow.includes(m)),
      url: path,
      schema: { hide: true },
      handler: async (request, reply) => {
        reply.header('allow', allow.join(', '));
        throw new BrokerError(
          'BROKER_METHOD_NOT_ALLOWED',
          `${request.method} is not served here; use ${allow.join(' or ')}.`,
          { details: { allow: [...allow] } },
        );
      },
    });
  }
}

import type { CallerConfig } from '@mcp-broker/broker-config';
import type { FastifyInstance } from 'fastify';
import type { CallerAuthenticator } from '../caller-authenticator.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller (set on every /v1 route). */
    caller: CallerConfig;
  }
}

/** Authenticates every route in the scope it is registered in; 401 names what was wrong. */
export function registerCallerAuth(scope: FastifyInstance, authenticator: CallerAuthenticator): void {
  scope.decorateRequest('caller', undefined as unknown as CallerConfig);
  scope.addHook('onRequest', async (request, reply) => {
    try {
      request.caller = await authenticator.authenticate(request.headers.authorization);
    } catch (err) {
      reply.header('www-authenticate', 'Bearer realm="mcp-broker", Basic realm="mcp-broker"');
      throw err;
    }
    request.log = request.log.child({ caller: request.caller.id });
  });
}

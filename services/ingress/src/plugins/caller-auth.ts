import type { CallerConfig } from '@mcp-broker/broker-config';
import type { Logger } from '@mcp-broker/runtime';
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
      request.caller = await authenticator.authenticate(request.headers.authorization, { clientAddress: request.ip });
    } catch (err) {
      // A throttled login is not a challenge to try other credentials now; Retry-After says when.
      if ((err as { code?: string }).code !== 'BROKER_AUTH_THROTTLED')
        reply.header('www-authenticate', 'Bearer realm="mcp-broker", Basic realm="mcp-broker"');
      throw err;
    }
    // The request's logger is its own (Fastify makes one per request): adding the binding to it
    // costs a fraction of a child logger's creation, which every request paid.
    (request.log as Logger).setBindings({ caller: request.caller.id });
  });
}

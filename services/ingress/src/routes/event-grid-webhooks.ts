import { DEFAULT_MAX_JSON_DEPTH, jsonTextDepth, tooDeepError } from '@mcp-broker/contracts';
import type { EventGridWebhookSource } from '@mcp-broker/event-grid';
import type { FastifyInstance } from 'fastify';

const CLOUD_EVENTS_TYPES = ['application/cloudevents+json', 'application/cloudevents-batch+json'];

/**
 * Event Grid push delivery (docs/event-grid.md): `POST` takes Event Grid schema arrays and
 * CloudEvents (structured or batched), `OPTIONS` answers the CloudEvents abuse-protection
 * handshake. Registered in its own scope: these routes authenticate per event subscription, not
 * as an API caller, and parse the CloudEvents media types as JSON with the same depth limit.
 */
export async function registerEventGridWebhooks(
  app: FastifyInstance,
  source: EventGridWebhookSource,
  maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
): Promise<void> {
  await app.register(async (scope) => {
    const json = scope.getDefaultJsonParser('error', 'error');
    scope.addContentTypeParser(CLOUD_EVENTS_TYPES, { parseAs: 'string' }, (request, body, done) => {
      if (jsonTextDepth(body as string, maxJsonDepth) > maxJsonDepth) {
        done(tooDeepError('The request body', maxJsonDepth), undefined);
        return;
      }
      json(request, body as string, done);
    });

    scope.options<{ Params: { subscription: string } }>('/webhooks/eventgrid/:subscription', async (request, reply) => {
      const answer = source.handshake(request.params.subscription, request.headers);
      reply.status(answer.status).headers(answer.headers ?? {});
      return '';
    });

    scope.post<{ Params: { subscription: string } }>('/webhooks/eventgrid/:subscription', async (request, reply) => {
      const answer = await source.deliver({
        subscription: request.params.subscription,
        headers: request.headers,
        contentType: (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '',
        body: request.body,
        requestId: request.id,
        traceparent: typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined,
      });
      reply.status(answer.status).headers(answer.headers ?? {});
      return answer.body ?? '';
    });
  });
}

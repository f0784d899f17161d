import type { DatabricksWebhookSource } from '@mcp-broker/databricks';
import type { FastifyInstance } from 'fastify';

/**
 * Databricks job notifications (docs/databricks.md): `POST /webhooks/databricks/{source}`, one
 * per notification destination. Registered in its own scope: a destination authenticates with
 * its own HTTP Basic credentials, not as an API caller. The body is JSON under the app's size and
 * depth limits; the answer is 202 once the doorbell is queued (or the event is skipped).
 */
export async function registerDatabricksWebhooks(app: FastifyInstance, source: DatabricksWebhookSource): Promise<void> {
  await app.register(async (scope) => {
    scope.post<{ Params: { source: string } }>(
      '/webhooks/databricks/:source',
      // Not part of the tool-call API's OpenAPI document (Salesforce External Services imports it).
      { schema: { hide: true } },
      async (request, reply) => {
        const answer = await source.receive({
          sourceId: request.params.source,
          authorization: request.headers.authorization,
          address: request.ip,
          body: request.body,
          requestId: request.id,
          ...(typeof request.headers.traceparent === 'string' ? { traceparent: request.headers.traceparent } : {}),
        });
        reply.status(answer.status);
        return answer.body;
      },
    );
  });
}

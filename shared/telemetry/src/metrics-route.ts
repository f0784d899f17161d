import type { FastifyInstance } from 'fastify';
import type { MetricsScrape } from './metrics-scrape.ts';

/**
 * `GET /metrics` in the Prometheus exposition format, on the service's own port. Unauthenticated
 * like `/healthz`: it carries counts by caller and tool, never an id, a payload or a secret; keep
 * the port off the public ingress (docs/observability.md).
 */
export function registerMetricsRoute(app: FastifyInstance, scrape: MetricsScrape): void {
  app.get('/metrics', (request, reply) => {
    reply.hijack();
    scrape.handle(request.raw, reply.raw);
  });
}

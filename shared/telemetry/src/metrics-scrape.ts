import type { IncomingMessage, ServerResponse } from 'node:http';

/** Serves one Prometheus scrape (the exposition format) on a raw Node response. */
export interface MetricsScrape {
  handle(request: IncomingMessage, response: ServerResponse): void;
}

import { buildHttpServer, type Logger, type ReadinessCheck } from '@mcp-broker/runtime';
import type { ChannelStatus } from '@mcp-broker/salesforce-events';

/** Jobs by state on one queue (BullMQ's own counts). */
export type QueueCounts = Record<string, number>;

/** What `GET /status` answers: the work in hand as this replica sees it. */
export interface WorkerStatus {
  /** Tool-call queues by caller id, then the write-back queue. */
  toolCalls: Record<string, QueueCounts>;
  writeBacks: QueueCounts;
  /** Platform event channels: leader or standby on this replica, last replay id, events handled. */
  salesforce: ChannelStatus[];
}

/**
 * The worker's small HTTP face, for orchestrators and people: `/healthz` (the process is alive),
 * `/readyz` (Redis and the store answer) and `/status` (queue depths and platform event channels).
 * It holds no secrets and takes no input.
 */
export function buildWorkerHealthApp(options: {
  logger: Logger;
  readiness: Record<string, ReadinessCheck>;
  status: () => Promise<WorkerStatus>;
}) {
  const app = buildHttpServer({ logger: options.logger, readiness: options.readiness });
  app.get('/status', async () => options.status());
  return app;
}

import { raceAbort } from '@mcp-broker/resilience';
import { buildHttpServer, type Logger, type ReadinessCheck } from '@mcp-broker/runtime';
import type { ChannelStatus } from '@mcp-broker/salesforce-events';
import type { ServiceBusSourceStatus } from '@mcp-broker/service-bus';
import type { ReconcileCounts } from './reconciler.ts';

/** Jobs by state on one queue (BullMQ's own counts). */
export type QueueCounts = Record<string, number>;

/** What `GET /status` answers: the work in hand as this replica sees it. */
export interface WorkerStatus {
  /** Tool-call queues by caller id, then the write-back queue. */
  toolCalls: Record<string, QueueCounts>;
  writeBacks: QueueCounts;
  /** What this replica's reconcile sweeps queued again (calls and deliveries whose jobs Redis lost); absent when the sweep is off. */
  reconciled?: ReconcileCounts;
  /** Platform event channels: leader or standby on this replica, last replay id, events handled. */
  salesforce: ChannelStatus[];
  /** Service Bus sources: messages received and how each ended, the last receiving error (UnauthorizedAccess…). */
  serviceBus?: ServiceBusSourceStatus[];
}

/** How long one readiness check may take before it counts as failed: probes must answer at once. */
export const READINESS_TIMEOUT_MS = 1000;

/**
 * A check that fails after `timeoutMs`. The worker's Redis connections queue commands while
 * disconnected (BullMQ needs that), so a bare PING during an outage would wait for Redis to return
 * and the probe would never answer.
 */
export function boundedCheck(name: string, check: ReadinessCheck, timeoutMs = READINESS_TIMEOUT_MS): ReadinessCheck {
  return () =>
    raceAbort(check(), { timeoutMs, onTimeout: () => new Error(`${name} did not answer within ${timeoutMs} ms`) });
}

/** Redis is ready when the connection is up and answers PING; a connection still reconnecting fails at once. */
export function redisCheck(redis: { status: string; ping(): Promise<unknown> }): ReadinessCheck {
  return async () => {
    if (redis.status !== 'ready') throw new Error(`Redis connection is ${redis.status}`);
    await redis.ping();
  };
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
  const readiness = Object.fromEntries(
    Object.entries(options.readiness).map(([name, check]) => [name, boundedCheck(name, check)]),
  );
  const app = buildHttpServer({ logger: options.logger, readiness });
  app.get('/status', async () => options.status());
  return app;
}

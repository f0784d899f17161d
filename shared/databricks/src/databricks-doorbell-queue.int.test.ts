import { randomUUID } from 'node:crypto';
import { DeliveryError } from '@mcp-broker/broker';
import type { DatabricksDoorbellJob } from '@mcp-broker/contracts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DatabricksDoorbellProcessor } from './databricks-doorbell.ts';
import { DatabricksDoorbellQueue, DatabricksDoorbellWorker } from './databricks-doorbell-queue.ts';

// The doorbell queue on a real Redis: one job per event, redeliveries absorbed, a doorbell that
// failed for good tried again by the next delivery, the Jobs API's Retry-After as the backoff.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `dbx-test:${randomUUID()}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix.replace(/:+$/, '')}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const job = (runId: string): DatabricksDoorbellJob => ({
  source: 'nightly',
  webhook: {
    event_type: 'jobs.on_success',
    workspace_id: '1',
    run: { run_id: runId },
    job: { job_id: '9', name: 'j' },
  },
  requestId: 'r',
  receivedAt: new Date().toISOString(),
});

describe('doorbell queue', () => {
  it('absorbs a redelivery of a queued or done event, and runs a failed one again', async () => {
    const queue = new DatabricksDoorbellQueue({ connection: redis, prefix, attempts: 1 });
    let calls = 0;
    const processor = {
      process: async () => {
        calls++;
        if (calls === 1) throw new Error('store unavailable');
        return { queued: 1, duplicates: 0, refused: 0 };
      },
    } as unknown as DatabricksDoorbellProcessor;
    const worker = new DatabricksDoorbellWorker({
      connection: redis,
      prefix,
      processor,
      retry: { baseDelayMs: 10, maxDelayMs: 10 },
    });
    try {
      expect(await queue.enqueue(job('1'))).toBe('queued');
      expect(await queue.enqueue(job('1'))).toBe('duplicate');
      worker.start();
      await vi.waitFor(async () => expect((await queue.counts()).failed).toBe(1), { timeout: 10_000 });
      expect(await queue.enqueue(job('1'))).toBe('queued');
      await vi.waitFor(async () => expect((await queue.counts()).completed).toBe(1), { timeout: 10_000 });
      expect(calls).toBe(2);
      expect(await queue.enqueue(job('1'))).toBe('duplicate');
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('waits the Jobs API’s Retry-After before the next attempt', async () => {
    const queue = new DatabricksDoorbellQueue({ connection: redis, prefix, attempts: 3 });
    const at: number[] = [];
    const processor = {
      process: async () => {
        at.push(Date.now());
        if (at.length === 1) throw new DeliveryError('transient', 'DATABRICKS_RATE_LIMITED', 'slow down', 1500);
        return { queued: 1, duplicates: 0, refused: 0 };
      },
    } as unknown as DatabricksDoorbellProcessor;
    const worker = new DatabricksDoorbellWorker({
      connection: redis,
      prefix,
      processor,
      retry: { baseDelayMs: 10, maxDelayMs: 10 },
    });
    try {
      worker.start();
      await queue.enqueue(job('2'));
      await vi.waitFor(() => expect(at).toHaveLength(2), { timeout: 10_000 });
      expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(1400);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('concurrent deliveries of one event all succeed and make one job, also when it failed before', async () => {
    // Its own queue: the counts below are this test's alone.
    const own = `${prefix}concurrent:`;
    const queue = new DatabricksDoorbellQueue({ connection: redis, prefix: own, attempts: 1 });
    let calls = 0;
    const processor = {
      process: async () => {
        calls++;
        if (calls === 1) throw new Error('store unavailable');
        return { queued: 1, duplicates: 0, refused: 0 };
      },
    } as unknown as DatabricksDoorbellProcessor;
    const worker = new DatabricksDoorbellWorker({
      connection: redis,
      prefix: own,
      processor,
      retry: { baseDelayMs: 10, maxDelayMs: 10 },
    });
    try {
      // A first delivery racing its retries: none is refused, one job exists.
      const first = await Promise.all(Array.from({ length: 20 }, () => queue.enqueue(job('c1'))));
      expect(first.filter((a) => a === 'queued').length).toBeGreaterThanOrEqual(1);
      expect((await queue.counts()).waiting).toBe(1);
      worker.start();
      await vi.waitFor(async () => expect((await queue.counts()).failed).toBe(1), { timeout: 10_000 });
      // Redeliveries of the failed event, all at once: every one is answered, the event runs once more.
      const again = await Promise.allSettled(Array.from({ length: 20 }, () => queue.enqueue(job('c1'))));
      expect(again.filter((a) => a.status === 'rejected')).toEqual([]);
      expect(again.filter((a) => a.status === 'fulfilled' && a.value === 'queued').length).toBeGreaterThanOrEqual(1);
      await vi.waitFor(async () => expect((await queue.counts()).completed).toBe(1), { timeout: 10_000 });
      expect(calls).toBe(2);
      // Many distinct events at once, each delivered twice concurrently: one job each.
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => [queue.enqueue(job(`m${i}`)), queue.enqueue(job(`m${i}`))]).flat(),
      );
      await vi.waitFor(async () => expect((await queue.counts()).completed).toBe(101), { timeout: 20_000 });
      expect(calls).toBe(102);
    } finally {
      await worker.close();
      await queue.close();
    }
  }, 30_000);
});

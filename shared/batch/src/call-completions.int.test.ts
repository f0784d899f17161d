import { randomUUID } from 'node:crypto';
import { BrokerQueues, bullPrefix, toolCallQueueName } from '@mcp-broker/broker';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallCompletions, type FinishedCall } from './call-completions.ts';
import { CallWindow } from './call-window.ts';

// Real Redis and real BullMQ jobs in a caller's tool-call queue: the events a worker's
// moveToFinished appends are what the run's window hears.
const prefix = `batch-completions:${randomUUID()}:`;
const caller = 'acme';
let redis: Redis;
let queues: BrokerQueues;
let completions: CallCompletions;
let worker: Worker;
/** What the test worker does with a job, by call id. */
const behaviour = new Map<string, () => Promise<string>>();

beforeAll(async () => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix, retry: { toolCallAttempts: 2, baseDelayMs: 10 } });
  completions = new CallCompletions({ caller, redis, prefix, logger: pino({ level: 'silent' }) });
  await completions.ready();
  worker = startWorker(false);
});

/** The test's worker; a fresh one rather than pause/resume, whose wake-up can miss a job. */
function startWorker(autorun: boolean): Worker {
  return new Worker(toolCallQueueName(caller), async (job) => (await behaviour.get(job.data.callId)?.()) ?? 'missing', {
    connection: redis.duplicate({ maxRetriesPerRequest: null }),
    prefix: bullPrefix(prefix),
    autorun,
    settings: { backoffStrategy: () => 10 },
  });
}

afterAll(async () => {
  await worker?.close();
  await completions?.close();
  await queues?.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
});

/** The next event about `callId`. */
function next(callId: string, filter: (c: FinishedCall) => boolean = () => true): Promise<FinishedCall> {
  return new Promise((resolve) => {
    const stop = completions.subscribe((call) => {
      if (call.callId !== callId || !filter(call)) return;
      stop();
      resolve(call);
    });
  });
}

describe('call completions (the caller queue events)', () => {
  it('hears a completion with the status the job returned; a window that gets the id only after it releases it at once', async () => {
    const id = `tc_${randomUUID()}`;
    behaviour.set(id, async () => 'succeeded');
    const completed = next(id);
    await queues.enqueueToolCall({ callId: id, caller });
    worker.run().catch(() => {});
    expect(await completed).toEqual({ callId: id, status: 'succeeded', final: true });
    // accept() returned after the job had ended: the window holds the id only now.
    const window = new CallWindow({ size: 1, isLive: async () => true, completions, pollMs: 3_600_000 });
    await window.release(true);
    window.add(id);
    expect(await window.release()).toEqual([{ callId: id, status: 'succeeded', final: true }]);
    window.close();
  });

  it('hears nothing of a retried attempt, and the last failed attempt as final', async () => {
    const id = `tc_${randomUUID()}`;
    let attempts = 0;
    behaviour.set(id, async () => {
      attempts += 1;
      throw new Error(`attempt ${attempts} failed`);
    });
    const heard: FinishedCall[] = [];
    const stop = completions.subscribe((call) => {
      if (call.callId === id) heard.push(call);
    });
    const failed = next(id);
    await queues.enqueueToolCall({ callId: id, caller });
    expect(await failed).toEqual({ callId: id, final: true });
    expect(attempts).toBe(2);
    expect(heard).toHaveLength(1);
    stop();
  });

  it('hears a queued call removed (cancelled with its run) as final, without a status', async () => {
    // No worker while the call waits, so it is removed from the queue and never taken.
    await worker.close();
    const id = `tc_${randomUUID()}`;
    const removed = next(id);
    await queues.enqueueToolCall({ callId: id, caller });
    expect(await queues.removeQueuedToolCall(caller, id)).toBe(true);
    expect(await removed).toEqual({ callId: id, final: true });
    worker = startWorker(true);
  });

  it("wakes a full window on a job's completion, the safety poll an hour away", async () => {
    const id = `tc_${randomUUID()}`;
    // The job is `active` in Redis before the worker calls its processor, so the test waits for
    // the processor itself: finishing before it ran would leave the job running for good.
    let finish: (status: string) => void = () => {};
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    behaviour.set(
      id,
      () =>
        new Promise((resolve) => {
          finish = resolve;
          started();
        }),
    );
    const window = new CallWindow({
      size: 1,
      isLive: (callId) => queues.hasLiveToolCall(caller, callId),
      completions,
      pollMs: 3_600_000,
    });
    await queues.enqueueToolCall({ callId: id, caller });
    window.add(id);
    const released: FinishedCall[] = [];
    const waiting = window.waitBelow({ onReleased: async (calls) => void released.push(...calls) });
    await running;
    finish('failed');
    await waiting;
    expect(released).toEqual([{ callId: id, status: 'failed', final: true }]);
    window.close();
  });
});

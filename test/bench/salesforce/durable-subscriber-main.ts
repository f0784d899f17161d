/**
 * `bench:salesforce` child (c): a second baseline, a bare jsforce subscriber that does only what an
 * event must cost to be durable: per event, the same tool-call record created in the same store
 * (`ToolCallRepository.create`) and the same BullMQ job added (`BrokerQueues.enqueueToolCall`,
 * carrying the record and its ETag as intake does), up to `BENCH_SF_CONCURRENCY` events at once.
 * No mapping, argument check against tools/list, idempotency lock, checkpoint, lease, flow control
 * or span: what the channel spends beyond this reader is the price of those. (a)'s ratio says how far
 * the channel is from reading; this one how far it is from recording.
 *
 * Its records are an API caller's (`BENCH_CALLER`, source `api`), so the channel's verification in
 * main.ts (records of source `salesforce`, jobs in the org caller's queue) never counts them.
 * Env: as bare-subscriber-main.ts, plus BENCH_SF_CONCURRENCY, BENCH_CALLER, BENCH_ENDPOINT and what
 * `childWorkerEnv()` gives (REDIS_URL, COSMOS_*), BENCH_REDIS_PREFIX.
 */
import { BrokerQueues, MAX_CARRIED_RECORD_CHARS, ToolCallRepository } from '@mcp-broker/broker';
import type { ToolCallRequest } from '@mcp-broker/contracts';
import { createStore, storeOptionsFromEnv } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import jsforce from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { announceReady, requiredEnv, serveParent } from '../mcp/ipc.ts';
import { peakRssMiB, rssMiB } from './process-memory.ts';

const env = process.env;
const expected = Number(requiredEnv('BENCH_SF_EVENTS'));
const concurrency = Math.max(1, Number(requiredEnv('BENCH_SF_CONCURRENCY')));
const channel = requiredEnv('BENCH_SF_CHANNEL');
const caller = requiredEnv('BENCH_CALLER');
const endpoint = requiredEnv('BENCH_ENDPOINT');
const oauth2 = {
  loginUrl: requiredEnv('BENCH_SF_LOGIN_URL'),
  clientId: requiredEnv('BENCH_SF_CLIENT_ID'),
  clientSecret: requiredEnv('BENCH_SF_CLIENT_SECRET'),
};
const store = await createStore(
  storeOptionsFromEnv({
    COSMOS_ENDPOINT: env.COSMOS_ENDPOINT,
    COSMOS_KEY: env.COSMOS_KEY,
    COSMOS_DATABASE: requiredEnv('COSMOS_DATABASE'),
  }),
);
const redis = new Redis(requiredEnv('REDIS_URL'), { maxRetriesPerRequest: 2 });
const repository = new ToolCallRepository({ store });
const queues = new BrokerQueues({ connection: redis, prefix: requiredEnv('BENCH_REDIS_PREFIX') });

interface FayeClient {
  subscribe(channel: string, listener: (data: unknown) => void): PromiseLike<unknown>;
  disconnect(): PromiseLike<unknown> | undefined;
}

interface DeliveredEvent {
  replayId: number;
  payload: { Tool__c?: string; Arguments__c?: string; Request_Id__c?: string };
}

async function record(event: DeliveredEvent): Promise<void> {
  const request: ToolCallRequest = {
    tool: event.payload.Tool__c ?? 'test_echo',
    arguments: JSON.parse(event.payload.Arguments__c ?? '{}') as Record<string, unknown>,
    writeBack: [],
    idempotencyKey: event.payload.Request_Id__c ?? `replay-${event.replayId}`,
    source: { kind: 'api' },
    correlation: { requestId: `replay-${event.replayId}` },
  };
  const outcome = await repository.create(caller, endpoint, request);
  const etag =
    outcome.kind === 'created' && JSON.stringify(outcome.record).length <= MAX_CARRIED_RECORD_CHARS
      ? repository.etagOf(outcome.record)
      : undefined;
  await queues.enqueueToolCall({
    callId: outcome.record.id,
    caller,
    ...(etag ? { created: { record: outcome.record, etag } } : {}),
  });
}

async function drain() {
  const conn = new jsforce.Connection({ oauth2, version: requiredEnv('BENCH_SF_API_VERSION') });
  await conn.authorize({ grant_type: 'client_credentials' });
  const rssBefore = rssMiB();
  const seen = new Set<number>();
  const waiting: DeliveredEvent[] = [];
  let running = 0;
  let done = 0;
  let peakHeld = 0;
  const started = performance.now();
  const client = conn.streaming.createClient([new StreamingExtension.Replay(channel, -2)]) as unknown as FayeClient;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${done} of ${expected} events within 30 min`)), 1_800_000);
    const pump = () => {
      while (running < concurrency && waiting.length > 0) {
        const event = waiting.shift() as DeliveredEvent;
        running += 1;
        record(event).then(
          () => {
            running -= 1;
            done += 1;
            if (done >= expected) {
              clearTimeout(timer);
              resolve();
            } else pump();
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      }
    };
    void client.subscribe(channel, (data) => {
      const event = (data as { event?: { replayId?: number }; payload?: DeliveredEvent['payload'] }) ?? {};
      const replayId = event.event?.replayId;
      if (typeof replayId !== 'number' || seen.has(replayId)) return;
      seen.add(replayId);
      waiting.push({ replayId, payload: event.payload ?? {} });
      peakHeld = Math.max(peakHeld, waiting.length + running);
      pump();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await Promise.resolve(client.disconnect()).catch(() => {});
  return {
    events: done,
    seconds,
    eventsPerSecond: done / seconds,
    peakEventsHeld: peakHeld,
    rssBeforeMiB: rssBefore,
    peakRssMiB: peakRssMiB(),
  };
}

serveParent({ drain }, async () => {
  await queues.close();
  redis.disconnect();
  await store.close();
});
announceReady({ pid: process.pid });

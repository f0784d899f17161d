/**
 * `bench:salesforce` child (b): the broker's channel, as the worker runs it: a
 * `PlatformEventConnector` (lease in Redis, checkpoints in the store) whose sink is the worker's
 * `SalesforceEventSink` over the broker core's `intake.accept`, so every event is mapped, checked
 * against the endpoint's tools/list, recorded in the store and queued in BullMQ. No BullMQ worker
 * runs here or anywhere in the run: the calls stay queued (what is measured is the drain rate of
 * the channel, not the tool calls). Its own process, so its peak RSS is the subscriber's.
 * Env: what `startBrokerStack().childWorkerEnv()` gives (BROKER_CONFIG, REDIS_URL, COSMOS_*,
 * secrets), BENCH_SF_LAST_REPLAY_ID (the channel is drained when its checkpoint position is there),
 * SALESFORCE_ACCEPT_BATCH (the worker's setting: events accepted in one group, as the worker does).
 */

import { AcceptCoalescer, createBrokerCore } from '@mcp-broker/broker';
import { loadBrokerConfigFile } from '@mcp-broker/broker-config';
import { createBrokerUpstream } from '@mcp-broker/mcp-client';
import { createLogger } from '@mcp-broker/runtime';
import { OrgConnections } from '@mcp-broker/salesforce';
import { PlatformEventConnector } from '@mcp-broker/salesforce-events';
import { createStore, storeOptionsFromEnv } from '@mcp-broker/store';
import { SalesforceEventSink, workerConfigSchema } from '@mcp-broker/worker';
import { Redis } from 'ioredis';
import { announceReady, requiredEnv, serveParent } from '../mcp/ipc.ts';
import { peakRssMiB, rssMiB } from './process-memory.ts';

const env = process.env;
const lastReplayId = Number(requiredEnv('BENCH_SF_LAST_REPLAY_ID'));
const broker = await loadBrokerConfigFile(requiredEnv('BROKER_CONFIG'));
const logger = createLogger({ name: 'bench-salesforce-channel', level: env.LOG_LEVEL ?? 'warn' });
const store = await createStore(
  storeOptionsFromEnv({
    COSMOS_ENDPOINT: env.COSMOS_ENDPOINT,
    COSMOS_KEY: env.COSMOS_KEY,
    COSMOS_DATABASE: requiredEnv('COSMOS_DATABASE'),
  }),
);
const redis = new Redis(requiredEnv('REDIS_URL'), { maxRetriesPerRequest: null });
const acceptBatch = workerConfigSchema.shape.SALESFORCE_ACCEPT_BATCH.parse(env.SALESFORCE_ACCEPT_BATCH);
const upstream = createBrokerUpstream(broker, { env });
const core = createBrokerCore({ broker, store, redis, catalog: upstream.catalog, env });
const orgs = new OrgConnections({ orgs: broker.salesforce.orgs, env, logger });
const connector = new PlatformEventConnector({
  orgs: broker.salesforce.orgs,
  redis,
  keyPrefix: core.settings.keyPrefix,
  store,
  connections: (orgId) => orgs.get(orgId),
  sink: new SalesforceEventSink({
    intake: new AcceptCoalescer({ intake: core.intake, maxBatch: acceptBatch }),
    orgs: broker.salesforce.orgs,
    callers: broker.callers,
  }),
  logger,
});

async function drain() {
  const rssBefore = rssMiB();
  const started = performance.now();
  connector.start();
  const channel = () => connector.status()[0];
  let sampledPeakHeld = 0;
  // The rate counts from the subscription on, as the bare subscriber's does (its login is not timed
  // either); lease, checkpoint read and login are reported apart.
  let subscribedAt: number | undefined;
  const deadline = started + 1_800_000;
  while ((channel()?.lastReplayId ?? -1) < lastReplayId) {
    if (performance.now() > deadline) throw new Error(`not drained within 30 min: ${JSON.stringify(channel())}`);
    if (subscribedAt === undefined && channel()?.state === 'subscribed') subscribedAt = performance.now();
    sampledPeakHeld = Math.max(sampledPeakHeld, channel()?.eventsHeld ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const drainedAt = performance.now();
  const seconds = (drainedAt - (subscribedAt ?? started)) / 1000;
  // stop() finishes the events in hand and writes the last checkpoint.
  await connector.stop();
  const status = channel();
  return {
    events: status?.eventsProcessed ?? 0,
    rejected: status?.eventsRejected ?? 0,
    seconds,
    startupSeconds: ((subscribedAt ?? started) - started) / 1000,
    eventsPerSecond: (status?.eventsProcessed ?? 0) / seconds,
    peakEventsHeld: Math.max(sampledPeakHeld, status?.peakEventsHeld ?? 0),
    lastReplayId: status?.lastReplayId,
    lastError: status?.lastError,
    rssBeforeMiB: rssBefore,
    peakRssMiB: peakRssMiB(),
  };
}

serveParent({ drain }, async () => {
  await connector.stop();
  await core.close();
  await upstream.close();
  redis.disconnect();
  await store.close();
});
announceReady({ pid: process.pid });

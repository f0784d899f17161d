/**
 * `npm run bench:salesforce`: one Salesforce channel draining a retained backlog (docs/benchmarks.md,
 * "Salesforce: one channel draining a backlog"). N events are retained on `/event/MCP_Tool_Request__e`
 * in the Salesforce sandbox's Bayeux server, then drained twice in the same run, each reader in its
 * own process, both from replay id -2:
 *   (a) a bare jsforce subscriber that only counts them (bare-subscriber-main.ts);
 *   (b) the broker's channel (channel-main.ts): PlatformEventConnector → SalesforceEventSink →
 *       intake.accept, each event recorded in the store and queued in BullMQ. No worker runs, so the
 *       calls stay queued: the figure is the channel's drain rate;
 *   (c) a bare durable subscriber (durable-subscriber-main.ts): jsforce, and per event only the
 *       record's create and the job's add, at the channel's concurrency, as a second caller's calls
 *       (so (b)'s verification does not count them). The channel's rate against it says what the
 *       channel costs beyond the durable minimum.
 * This process holds the sandbox, the embedded store, the governed MCP server (tools/list for the
 * argument check) and the OAuth server, for both phases alike.
 * Reports events/s of each, the channel's ratio to (a) (target ≥ BENCH_SALESFORCE_TARGET_RATIO) and to (c), each reader's peak
 * RSS, the most events the channel held, and checks that every event became exactly one call
 * (one record per event, each queued once). Knobs (env), defaults in brackets:
 *   BENCH_SALESFORCE_EVENTS [20000], BENCH_SALESFORCE_ANSWER_EVENTS [1000] (most events in one
 *   long-poll answer of the sandbox), BENCH_SALESFORCE_CONCURRENCY, BENCH_SALESFORCE_HIGH_WATER_MARK,
 *   BENCH_SALESFORCE_CHECKPOINT_EVENTS, BENCH_SALESFORCE_CHECKPOINT_MS [the channel defaults:
 *   100, 1000, 50, 1000], BENCH_SALESFORCE_ACCEPT_BATCH [100: the worker's SALESFORCE_ACCEPT_BATCH
 *   default; 1 accepts each event on its own], BENCH_SALESFORCE_TARGET_RATIO [0.5], BENCH_SALESFORCE_OUT
 *   [test/bench/results/salesforce-latest.json], BENCH_SALESFORCE_CPU_PROF [unset; 1: profile the
 *   channel's process, summarised with test/bench/mcp/profile-summary.ts], REDIS_URL.
 * Exit code 0 when every event became exactly one call and both readers saw every event (whether or
 * not the ratio target is met), 1 otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BrokerQueues } from '@mcp-broker/broker';
import { SALESFORCE_CHANNEL_DEFAULTS } from '@mcp-broker/broker-config';
import { startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { Redis } from 'ioredis';
import { REDIS_URL, startBrokerStack } from '../../support/broker-stack.ts';
import { brokerTestTools } from '../../support/broker-test-tools.ts';
import { envNumber } from '../env-number.ts';
import { type BenchChild, killAllChildren, spawnChild } from '../mcp/children.ts';

const num = (name: string, fallback: number, min: number) => Math.round(envNumber(process.env, name, fallback, min));
const settings = {
  events: num('BENCH_SALESFORCE_EVENTS', 20_000, 1),
  answerEvents: num('BENCH_SALESFORCE_ANSWER_EVENTS', 1000, 1),
  concurrency: num('BENCH_SALESFORCE_CONCURRENCY', SALESFORCE_CHANNEL_DEFAULTS.concurrency, 1),
  highWaterMark: num('BENCH_SALESFORCE_HIGH_WATER_MARK', SALESFORCE_CHANNEL_DEFAULTS.highWaterMark, 1),
  checkpointEvery: {
    events: num('BENCH_SALESFORCE_CHECKPOINT_EVENTS', SALESFORCE_CHANNEL_DEFAULTS.checkpointEvery.events, 1),
    ms: num('BENCH_SALESFORCE_CHECKPOINT_MS', SALESFORCE_CHANNEL_DEFAULTS.checkpointEvery.ms, 0),
  },
  targetRatio: envNumber(process.env, 'BENCH_SALESFORCE_TARGET_RATIO', 0.5, 0),
  /** The channel process's SALESFORCE_ACCEPT_BATCH (events accepted in one group; 1: one at a time). */
  acceptBatch: num('BENCH_SALESFORCE_ACCEPT_BATCH', 100, 1),
};
const out = process.env.BENCH_SALESFORCE_OUT ?? join(import.meta.dirname, '..', 'results', 'salesforce-latest.json');
const CHANNEL = '/event/MCP_Tool_Request__e';
const log = (line: string) => console.log(`[bench:salesforce] ${line}`);

const children: BenchChild[] = [];
process.on('exit', killAllChildren);
const git = (...args: string[]) => {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};

interface Drain {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
}

const loadAtStart = loadavg();
const startedAt = new Date().toISOString();
const sandbox = await startSalesforceSandbox({
  maxEventsPerResponse: settings.answerEvents,
  retention: { maxEvents: settings.events + 10 },
});
const stack = await startBrokerStack({
  tools: brokerTestTools,
  callbackHost: '127.0.0.1',
  roles: ['Test.Echo'],
  inProcessWorker: false,
  salesforce: {
    loginUrl: sandbox.loginUrl,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
    apiVersion: sandbox.apiVersion,
  },
});
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
let ok = false;
try {
  const run = crypto.randomUUID().slice(0, 8);
  const replayIds: number[] = [];
  for (let i = 0; i < settings.events; i++) {
    const fields = {
      Tool__c: 'test_echo',
      Arguments__c: JSON.stringify({ message: `sf-${run}-${i}` }),
      Request_Id__c: `sf-bench-${run}-${i}`,
    };
    replayIds.push(sandbox.publishEvent(CHANNEL, fields).replayId);
  }
  const lastReplayId = replayIds.at(-1) ?? 0;
  log(`${settings.events} events retained on ${CHANNEL} (answers of at most ${settings.answerEvents} events)`);

  const logDir = await mkdtemp(join(tmpdir(), 'bench-salesforce-'));
  // What both jsforce subscribers, (a) and (c), need to log in and read the channel.
  const subscriberEnv = {
    BENCH_SF_LOGIN_URL: sandbox.loginUrl,
    BENCH_SF_CLIENT_ID: sandbox.clientId,
    BENCH_SF_CLIENT_SECRET: sandbox.clientSecret,
    BENCH_SF_API_VERSION: sandbox.apiVersion,
    BENCH_SF_CHANNEL: CHANNEL,
    BENCH_SF_EVENTS: String(settings.events),
  };
  // (a) the bare subscriber.
  const bare = await spawnChild({
    name: 'bare-subscriber',
    entry: '../salesforce/bare-subscriber-main.ts',
    logDir,
    env: subscriberEnv,
  });
  children.push(bare);
  log('(a) bare jsforce subscriber draining…');
  const a = await bare.call<Drain & { duplicates: number }>('drain', 1_900_000);
  await bare.stop(3_000);
  log(`(a) ${a.events} events in ${a.seconds.toFixed(1)} s: ${a.eventsPerSecond.toFixed(0)} events/s`);

  // (b) the broker's channel, with the bench's channel settings, in its own process.
  const org = stack.broker.salesforce.orgs[0];
  const channel = org?.channels[0];
  if (!org || !channel) throw new Error('the stack has no Salesforce org');
  Object.assign(channel, {
    concurrency: settings.concurrency,
    highWaterMark: settings.highWaterMark,
    checkpointEvery: settings.checkpointEvery,
  });
  const configPath = join(logDir, 'broker.json');
  await writeFile(configPath, JSON.stringify(stack.broker));
  const broker = await spawnChild({
    name: 'channel',
    entry: '../salesforce/channel-main.ts',
    logDir,
    env: {
      ...stack.childWorkerEnv(configPath),
      BENCH_SF_LAST_REPLAY_ID: String(lastReplayId),
      SALESFORCE_ACCEPT_BATCH: String(settings.acceptBatch),
    },
    // BENCH_SALESFORCE_CPU_PROF=1: the channel's process under --cpu-prof (the profile lands in the log directory).
    ...(process.env.BENCH_SALESFORCE_CPU_PROF === '1' ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${logDir}`] } : {}),
  });
  children.push(broker);
  log(
    `(b) the broker's channel draining (concurrency ${settings.concurrency}, accept batch ${settings.acceptBatch}, high-water mark ${settings.highWaterMark}, ` +
      `checkpoint every ${settings.checkpointEvery.events} events / ${settings.checkpointEvery.ms} ms; no worker: calls stay queued)…`,
  );
  // CPU of both processes over the drain: this one serves the store, the sandbox and tools/list.
  const cpuBefore = { here: process.cpuUsage(), channel: await broker.call<number>('cpu') };
  const b = await broker.call<Drain & { rejected: number; peakEventsHeld: number; lastError?: unknown }>(
    'drain',
    1_900_000,
  );
  const cpuHere = process.cpuUsage(cpuBefore.here);
  const cpuMsPerEvent = {
    channelProcess: Math.round(((await broker.call<number>('cpu')) - cpuBefore.channel) / 10 / settings.events) / 100,
    storeSandboxAndMcpProcess: Math.round((cpuHere.user + cpuHere.system) / 10 / settings.events) / 100,
  };
  await broker.stop(5_000);
  log(`(b) ${b.events} events in ${b.seconds.toFixed(1)} s: ${b.eventsPerSecond.toFixed(0)} events/s`);

  // (c) the bare durable subscriber: create and add per event, nothing else, as caller-b.
  const durableCaller = stack.broker.callers.find((c) => c.id !== org.caller && !c.admin);
  if (!durableCaller) throw new Error('the stack has no second caller');
  const workerEnv = stack.childWorkerEnv(configPath);
  const durable = await spawnChild({
    name: 'durable-subscriber',
    entry: '../salesforce/durable-subscriber-main.ts',
    logDir,
    env: {
      ...subscriberEnv,
      BENCH_SF_CONCURRENCY: String(settings.concurrency),
      BENCH_CALLER: durableCaller.id,
      BENCH_ENDPOINT: durableCaller.upstream.endpoint,
      BENCH_REDIS_PREFIX: stack.prefix,
      REDIS_URL: workerEnv.REDIS_URL ?? REDIS_URL,
      COSMOS_ENDPOINT: workerEnv.COSMOS_ENDPOINT ?? '',
      COSMOS_KEY: workerEnv.COSMOS_KEY ?? '',
      COSMOS_DATABASE: workerEnv.COSMOS_DATABASE ?? '',
    },
  });
  children.push(durable);
  log(`(c) bare durable subscriber (create + add per event, concurrency ${settings.concurrency}) draining…`);
  const cpuBeforeC = { here: process.cpuUsage(), child: await durable.call<number>('cpu') };
  const c = await durable.call<Drain & { peakEventsHeld: number }>('drain', 1_900_000);
  const cpuHereC = process.cpuUsage(cpuBeforeC.here);
  const durableCpuMsPerEvent = {
    subscriberProcess:
      Math.round(((await durable.call<number>('cpu')) - cpuBeforeC.child) / 10 / settings.events) / 100,
    storeSandboxAndMcpProcess: Math.round((cpuHereC.user + cpuHereC.system) / 10 / settings.events) / 100,
  };
  await durable.stop(5_000);
  log(`(c) ${c.events} events in ${c.seconds.toFixed(1)} s: ${c.eventsPerSecond.toFixed(0)} events/s`);

  // Every event exactly one call: one record per event (the record id comes from the idempotency
  // key), each still queued, and one job per record in the caller's queue.
  const { resources: records } = await stack.store
    .container('toolCalls')
    .items.query<{ reference: string; status: string }>({
      query: "SELECT c.source.reference AS reference, c.status FROM c WHERE c.source.kind = 'salesforce'",
    })
    .fetchAll();
  const references = new Set(records.map((r) => r.reference));
  const expectedReferences = replayIds.map((id) => `${org.id}/${CHANNEL}/${id}`);
  const missing = expectedReferences.filter((r) => !references.has(r));
  const statuses: Record<string, number> = {};
  for (const r of records) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const queues = new BrokerQueues({ connection: redis, prefix: stack.prefix });
  const jobs = await queues.toolCallQueue(org.caller).getJobCounts();
  const queuedJobs = Object.values(jobs).reduce((n, x) => n + x, 0);
  await queues.close();

  const ratio = b.eventsPerSecond / a.eventsPerSecond;
  const verification = {
    records: records.length,
    distinctEvents: references.size,
    missing: { count: missing.length, first: missing.slice(0, 10) },
    statuses,
    jobs,
    onePerEvent:
      records.length === settings.events &&
      references.size === settings.events &&
      missing.length === 0 &&
      statuses.queued === settings.events &&
      queuedJobs === settings.events,
  };
  ok =
    verification.onePerEvent &&
    a.events === settings.events &&
    b.events === settings.events &&
    b.rejected === 0 &&
    c.events === settings.events;
  const report = {
    benchmark: 'salesforce',
    startedAt,
    commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'shared/salesforce-events', 'test/bench/salesforce') ? ' (with uncommitted changes)' : ''}`,
    loadAverage: {
      start: loadAtStart.map((x) => Math.round(x * 100) / 100),
      end: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    settings: { ...settings, channel: CHANNEL, worker: 'stopped (no BullMQ worker runs: calls stay queued)' },
    bare: a,
    broker: { ...b, cpuMsPerEvent },
    bareDurable: { ...c, cpuMsPerEvent: durableCpuMsPerEvent },
    ratio: {
      value: Math.round(ratio * 1000) / 1000,
      target: settings.targetRatio,
      meetsTarget: ratio >= settings.targetRatio,
      toBareDurable: Math.round((b.eventsPerSecond / c.eventsPerSecond) * 1000) / 1000,
    },
    verification,
    ok,
  };
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`).catch(async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  });
  console.log(JSON.stringify(report, null, 2));
  log(
    `bare ${a.eventsPerSecond.toFixed(0)} events/s (peak RSS ${a.peakRssMiB} MiB), broker channel ${b.eventsPerSecond.toFixed(0)} events/s ` +
      `(peak RSS ${b.peakRssMiB} MiB, at most ${b.peakEventsHeld} events held; CPU ms/event: channel ${cpuMsPerEvent.channelProcess}, store+sandbox+MCP ${cpuMsPerEvent.storeSandboxAndMcpProcess}): ratio ${ratio.toFixed(2)} (target ${settings.targetRatio})`,
  );
  log(
    `bare durable (create + add only) ${c.eventsPerSecond.toFixed(0)} events/s (CPU ms/event: subscriber ${durableCpuMsPerEvent.subscriberProcess}, ` +
      `store+sandbox ${durableCpuMsPerEvent.storeSandboxAndMcpProcess}): the channel at ${(b.eventsPerSecond / c.eventsPerSecond).toFixed(2)} of it`,
  );
  log(ok ? 'ok: every event became exactly one call' : 'NOT ok: see verification above');
  log(`results: ${out}; child logs: ${logDir}`);
} catch (error) {
  console.error('[bench:salesforce] failed:', error);
  ok = false;
} finally {
  await Promise.allSettled(children.map((c) => c.stop(3_000)));
  killAllChildren();
  redis.disconnect();
  const closed = Promise.all([stack.close(), sandbox.close()]);
  const timer = new Promise((resolve) => setTimeout(resolve, 30_000, 'timeout'));
  if ((await Promise.race([closed, timer])) === 'timeout') console.error('closing the stack took over 30 s; exiting');
}
process.exit(ok ? 0 : 1);

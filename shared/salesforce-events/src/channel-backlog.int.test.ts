import { salesforceChannelSchema } from '@mcp-broker/broker-config';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  REQUEST_CHANNEL,
  RecordingLogger,
  RecordingSink,
  SandboxConnections,
  waitFor,
} from '../test-support/salesforce-events.ts';
import { type ChannelSettings, ChannelSubscriber } from './channel-subscriber.ts';
import { ReplayCheckpointStore } from './replay-checkpoint-store.ts';

const fast = { initialMs: 20, maxMs: 200 };

/**
 * A channel draining a retained backlog far larger than its high-water mark: flow control
 * (the subscriber never holds more than the mark, the server keeps the rest), bounded
 * concurrency with an ordered checkpoint, and a crash mid-backlog.
 */
describe('channel subscriber draining a backlog', () => {
  let store: Store;
  let checkpoints: ReplayCheckpointStore;
  let sandbox: SalesforceSandbox;
  let sink: RecordingSink;
  let logger: RecordingLogger;
  let orgs = 0;
  let org: string;
  const subscribers: ChannelSubscriber[] = [];

  beforeAll(async () => {
    store = await createStore({ databaseId: `channel-backlog-${Date.now()}` });
    checkpoints = new ReplayCheckpointStore({ container: store.container('checkpoints') });
  });
  afterAll(async () => {
    await store?.close();
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.stop()));
    await sandbox?.close();
  });

  /** A sandbox whose long-poll answers carry at most `perAnswer` events, with `events` retained. */
  async function backlog(events: number, perAnswer: number): Promise<number[]> {
    sandbox = await startSalesforceSandbox({ maxEventsPerResponse: perAnswer, retention: { maxEvents: events + 100 } });
    sink = new RecordingSink();
    logger = new RecordingLogger();
    orgs += 1;
    org = `backlog-org-${orgs}`;
    return Array.from(
      { length: events },
      (_, i) =>
        sandbox.publishEvent(REQUEST_CHANNEL, { Tool__c: `tool_${i}`, Request_Id__c: `req-${org}-${i}` }).replayId,
    );
  }

  function subscriber(
    channel: Partial<ChannelSettings>,
    saves: Pick<ReplayCheckpointStore, 'get' | 'save'> = checkpoints,
  ): ChannelSubscriber {
    const created = new ChannelSubscriber({
      org,
      channel: salesforceChannelSchema.parse({ channel: REQUEST_CHANNEL, initialReplay: 'all-retained', ...channel }),
      connections: new SandboxConnections(sandbox),
      checkpoints: saves,
      sink,
      logger,
      connectBackoff: fast,
      processingBackoff: fast,
    });
    subscribers.push(created);
    created.start();
    return created;
  }

  /** Every published event made exactly one call (created once; any repeat was a duplicate). */
  function expectOneCallEach(published: number[]): void {
    const created = sink.createdReplayIds();
    expect(new Set(created).size).toBe(created.length);
    expect([...created].sort((a, b) => a - b)).toEqual(published);
  }

  it('a backlog 40 times the high-water mark: never holds more than the mark, the server keeps the rest, every event once', async () => {
    const published = await backlog(2_000, 20);
    sink.delayMs = 2;
    let serverHeldBack = 0;
    const s = subscriber({ highWaterMark: 50, lowWaterMark: 20, concurrency: 4 });
    await waitFor(
      'the backlog drained',
      () => {
        serverHeldBack = Math.max(serverHeldBack, sandbox.streamingQueuedEvents());
        expect(s.status().eventsHeld).toBeLessThanOrEqual(50);
        return s.status().lastReplayId === published.at(-1);
      },
      60_000,
    );
    expect(s.status().peakEventsHeld).toBeLessThanOrEqual(50);
    expect(s.status().peakEventsHeld).toBeGreaterThan(20);
    // The pause is real: the server kept most of the backlog until the subscriber asked for it.
    expect(serverHeldBack).toBeGreaterThan(1_000);
    expect(sink.peakInFlight).toBeLessThanOrEqual(4);
    expect(s.status().sessions).toBe(1);
    expectOneCallEach(published);
    expect(sink.submitted).toHaveLength(published.length);
  });

  it('answers larger than the high-water mark: keeps the mark, resubscribes from the checkpoint for the rest, every event once', async () => {
    const published = await backlog(600, 100);
    const s = subscriber({ highWaterMark: 40, concurrency: 8 });
    await waitFor('the backlog drained', () => s.status().lastReplayId === published.at(-1), 60_000);
    expect(s.status().peakEventsHeld).toBeLessThanOrEqual(40);
    expect(s.status().sessions).toBeGreaterThan(1);
    expect(logger.entries.map((e) => e.message)).toContainEqual(expect.stringMatching(/beyond the high-water mark/));
    expectOneCallEach(published);
    // Dropped events never reached the sink: no event was handed over twice.
    expect(sink.submitted).toHaveLength(published.length);
  });

  it('a slow sink finishing out of order: the checkpoint never passes an event not yet handled', async () => {
    const published = await backlog(400, 50);
    // Every 7th event is slow, so later ones finish before it.
    sink.delayOf = (position) => (position.replayId % 7 === 0 ? 40 : 1);
    const handled = () => new Set(sink.submitted.map((c) => c.context.replayId));
    const violations: number[] = [];
    const watching = {
      get: (o: string, c: string) => checkpoints.get(o, c),
      save: async (o: string, c: string, replayId: number) => {
        const done = handled();
        if (published.some((id) => id <= replayId && !done.has(id))) violations.push(replayId);
        await checkpoints.save(o, c, replayId);
      },
    };
    const s = subscriber({ concurrency: 8, highWaterMark: 100, checkpointEvery: { events: 10, ms: 50 } }, watching);
    await waitFor('the backlog drained', () => s.status().lastReplayId === published.at(-1), 60_000);
    await waitFor(
      'the last checkpoint',
      async () => (await checkpoints.get(org, REQUEST_CHANNEL)) === published.at(-1),
    );
    expect(violations).toEqual([]);
    expect(sink.peakInFlight).toBeGreaterThan(1);
    expect(sink.peakInFlight).toBeLessThanOrEqual(8);
    expectOneCallEach(published);
  });

  it('a crash mid-backlog replays from the checkpoint: each event is still one call', async () => {
    const published = await backlog(600, 50);
    sink.delayMs = 2;
    let crashed = false;
    const dying = {
      get: (o: string, c: string) => checkpoints.get(o, c),
      // After the "crash" nothing the first subscriber would still write reaches the store.
      save: async (o: string, c: string, replayId: number) => (crashed ? undefined : checkpoints.save(o, c, replayId)),
    };
    const first = subscriber(
      { concurrency: 8, highWaterMark: 100, checkpointEvery: { events: 25, ms: 60_000 } },
      dying,
    );
    await waitFor('a part of the backlog', () => sink.submitted.length >= 200, 60_000);
    crashed = true;
    await first.stop();
    const stored = await checkpoints.get(org, REQUEST_CHANNEL);
    expect(stored).toBeDefined();
    expect(stored).toBeLessThan(published.at(-1) ?? 0);
    // What the first one handled past its last stored checkpoint comes again.
    const unsaved = sink.submitted.filter((c) => c.context.replayId > (stored ?? 0)).length;
    expect(unsaved).toBeGreaterThan(0);

    const second = subscriber({ concurrency: 8, highWaterMark: 100 });
    await waitFor('the rest of the backlog', () => second.status().lastReplayId === published.at(-1), 60_000);
    expectOneCallEach(published);
    const repeats = sink.submitted.filter((c) => !c.created);
    expect(repeats.length).toBe(unsaved);
    expect(repeats.every((c) => c.context.replayId > (stored ?? 0))).toBe(true);
    expect(sink.submitted).toHaveLength(published.length + unsaved);
  });
});

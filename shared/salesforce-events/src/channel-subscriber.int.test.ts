import { salesforceChannelSchema } from '@mcp-broker/broker-config';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  REQUEST_CHANNEL,
  RecordingLogger,
  RecordingSink,
  SandboxConnections,
  waitFor,
} from '../test-support/salesforce-events.ts';
import { type ChannelSettings, ChannelSubscriber, type ReplayRefusedAlert } from './channel-subscriber.ts';
import { ReplayCheckpointStore } from './replay-checkpoint-store.ts';

const CASE_CHANNEL = '/event/Case_Escalation__e';
const OPPORTUNITY = '0065g00000AbCdEAAZ';
const CASE_ID = '5005g00000AbCdEAAZ';
const fast = { initialMs: 20, maxMs: 200 };
/** One event at a time, each checkpointed alone: what the tests written before batching pin. */
const strict = { concurrency: 1, checkpointEvery: { events: 1, ms: 0 } };

describe('channel subscriber against the Salesforce sandbox, with checkpoints in Cosmos', () => {
  let store: Store;
  let checkpoints: ReplayCheckpointStore;
  let sandbox: SalesforceSandbox;
  let connections: SandboxConnections;
  let sink: RecordingSink;
  let logger: RecordingLogger;
  let alerts: ReplayRefusedAlert[];
  let org: string;
  let orgs = 0;
  const subscribers: ChannelSubscriber[] = [];

  beforeAll(async () => {
    store = await createStore({ databaseId: `channel-subscriber-${Date.now()}` });
    checkpoints = new ReplayCheckpointStore({ container: store.container('checkpoints') });
  });
  afterAll(async () => {
    await store?.close();
  });
  beforeEach(async () => {
    sandbox = await startSalesforceSandbox({
      objects: {
        Case_Escalation__e: {
          fields: {
            Case_Id__c: { length: 18 },
            Priority__c: { length: 40 },
            Summary__c: { type: 'textarea', length: 1000 },
          },
        },
      },
    });
    connections = new SandboxConnections(sandbox);
    sink = new RecordingSink();
    logger = new RecordingLogger();
    alerts = [];
    orgs += 1;
    org = `org-${orgs}`; // a fresh checkpoint per test
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.stop()));
    await sandbox?.close();
  });

  function subscriber(channel: Partial<ChannelSettings> = {}): ChannelSubscriber {
    const created = new ChannelSubscriber({
      org,
      channel: salesforceChannelSchema.parse({ channel: REQUEST_CHANNEL, ...strict, ...channel }),
      connections,
      checkpoints,
      sink,
      logger,
      onAlert: (alert) => {
        alerts.push(alert);
      },
      connectBackoff: fast,
      processingBackoff: fast,
    });
    subscribers.push(created);
    created.start();
    return created;
  }
  async function subscribed(s: ChannelSubscriber): Promise<void> {
    await waitFor('the subscription', () => s.status().state === 'subscribed');
  }
  const publish = (fields: Record<string, unknown>, channel = REQUEST_CHANNEL) =>
    sandbox.publishEvent(channel, fields).replayId;
  const checkpoint = (channel = REQUEST_CHANNEL) => checkpoints.get(org, channel);
  /** Waits until `s` has handled (and checkpointed) `replayId`. */
  async function handled(s: ChannelSubscriber, replayId: number | undefined, what = `replay id ${replayId}`) {
    await waitFor(what, () => s.status().lastReplayId === replayId);
    expect(await checkpoint(s.channel)).toBe(replayId);
  }

  it('maps a published event with the default contract, submits it, and checkpoints its replay id', async () => {
    const s = subscriber();
    await subscribed(s);
    const replayId = publish({
      Tool__c: 'generate_contract',
      Arguments__c: JSON.stringify({ opportunityId: OPPORTUNITY }),
      Record_Id__c: OPPORTUNITY,
      Request_Id__c: 'req-1',
      Write_Back__c: JSON.stringify([
        { type: 'salesforce-record', sobject: 'Opportunity', fields: { Contract_URL__c: 'structuredContent.url' } },
      ]),
    });
    await handled(s, replayId, 'the checkpoint');

    expect(sink.submitted).toHaveLength(1);
    expect(sink.submitted[0]).toEqual({
      created: true,
      context: { org, channel: REQUEST_CHANNEL, replayId, eventUuid: expect.any(String) },
      request: {
        tool: 'generate_contract',
        arguments: { opportunityId: OPPORTUNITY },
        idempotencyKey: 'req-1',
        source: { kind: 'salesforce', reference: `${org}/${REQUEST_CHANNEL}/${replayId}` },
        correlation: { requestId: `sf:${org}:MCP_Tool_Request__e:${replayId}` },
        writeBack: [
          {
            type: 'salesforce-record',
            org,
            sobject: 'Opportunity',
            recordId: OPPORTUNITY,
            fields: { Contract_URL__c: 'structuredContent.url' },
          },
        ],
      },
    });
    expect(s.status()).toMatchObject({ state: 'subscribed', lastReplayId: replayId, eventsProcessed: 1, sessions: 1 });
  });

  it('with initialReplay all-retained and no checkpoint, starts from every retained event', async () => {
    const first = publish({ Tool__c: 'a' });
    const second = publish({ Tool__c: 'b' });
    subscriber({ initialReplay: 'all-retained' });
    await waitFor('both retained events', () => sink.submitted.length === 2);
    expect(sink.submittedReplayIds()).toEqual([first, second]);
  });

  it('applies the JSONata mapping from the channel configuration instead of the default contract', async () => {
    const s = subscriber({
      channel: CASE_CHANNEL,
      mapping: {
        tool: "payload.Priority__c = 'High' ? 'escalate_case' : 'triage_case'",
        arguments: "{ 'caseId': payload.Case_Id__c, 'summary': payload.Summary__c, 'org': org, 'channel': channel }",
        idempotencyKey: "'case:' & payload.Case_Id__c & ':' & event.replayId",
      },
    });
    await subscribed(s);
    const high = publish({ Case_Id__c: CASE_ID, Priority__c: 'High', Summary__c: 'Outage' }, CASE_CHANNEL);
    const low = publish({ Case_Id__c: CASE_ID, Priority__c: 'Low', Summary__c: 'Question' }, CASE_CHANNEL);
    await handled(s, low, 'both events checkpointed');

    expect(sink.submitted.map((c) => c.request)).toEqual([
      expect.objectContaining({
        tool: 'escalate_case',
        arguments: { caseId: CASE_ID, summary: 'Outage', org, channel: CASE_CHANNEL },
        idempotencyKey: `case:${CASE_ID}:${high}`,
        writeBack: [],
      }),
      expect.objectContaining({ tool: 'triage_case', idempotencyKey: `case:${CASE_ID}:${low}` }),
    ]);
  });

  it('rejects malformed events with a reason, checkpoints them, and still processes the next good event', async () => {
    sink.refuse('not_allowed_tool', 'BROKER_TOOL_NOT_ALLOWED');
    const s = subscriber();
    await subscribed(s);
    const badArguments = publish({ Tool__c: 'query_data', Arguments__c: '{"soql": ' });
    const noTool = publish({
      Tool__c: '   ',
      Record_Id__c: OPPORTUNITY,
      Write_Back__c: '[{"type":"salesforce-result"}]',
    });
    const badWriteBack = publish({
      Tool__c: 'query_data',
      Write_Back__c:
        '[{"type":"salesforce-result"},{"type":"salesforce-record","sobject":"Opportunity","recordId":"bad","fields":{"A__c":"x"}}]',
    });
    const refused = publish({ Tool__c: 'not_allowed_tool' });
    const good = publish({ Tool__c: 'query_data', Arguments__c: '{"soql":"SELECT Id FROM Account"}' });
    await handled(s, good, 'the good event checkpointed');

    expect(sink.rejected.map((r) => [r.replayId, r.code])).toEqual([
      [badArguments, 'EVENT_BAD_JSON'],
      [noTool, 'EVENT_TOOL_MISSING'],
      [badWriteBack, 'EVENT_BAD_WRITE_BACK'],
      [refused, 'BROKER_TOOL_NOT_ALLOWED'],
    ]);
    expect(sink.rejected[0]?.reason).toMatch(/^Arguments__c is not valid JSON/);
    expect(sink.rejected[1]).toMatchObject({
      org,
      channel: REQUEST_CHANNEL,
      eventUuid: expect.any(String),
      reason: 'Tool__c is empty: the event names no tool',
      partial: { writeBack: [{ type: 'salesforce-result', org, relatedRecordId: OPPORTUNITY }] },
    });
    expect(sink.rejected[2]?.reason).toBe('Write_Back__c[1].recordId: a 15- or 18-character Salesforce id');
    expect(sink.rejected[3]).toMatchObject({
      reason: 'Tool not_allowed_tool is not allowed',
      partial: { tool: 'not_allowed_tool' },
    });
    expect(sink.submittedReplayIds()).toEqual([good]);
    expect(s.status()).toMatchObject({ eventsProcessed: 5, eventsRejected: 4, lastReplayId: good });
  });

  it('stopped while events are published and restarted, resumes from the checkpoint: every event once', async () => {
    sink.delayMs = 25;
    const first = subscriber();
    await subscribed(first);
    const published = Array.from({ length: 12 }, (_, i) => publish({ Tool__c: `tool_${i}` }));
    await waitFor('a few events', () => sink.submitted.length >= 3);
    await first.stop();
    const handledBeforeStop = sink.submitted.length;
    expect(await checkpoint()).toBe(published[handledBeforeStop - 1]);
    published.push(publish({ Tool__c: 'while_stopped' }));

    const second = subscriber();
    await handled(second, published.at(-1), 'every event');
    expect(sink.submittedReplayIds()).toEqual(published);
    expect(sink.submitted.every((c) => c.created)).toBe(true);
  });

  it('after a sink failure, resubscribes from the checkpoint and processes the event once', async () => {
    const s = subscriber();
    await subscribed(s);
    const first = publish({ Tool__c: 'one' });
    await handled(s, first, 'the first event');

    const checkpointAtFailure: (number | undefined)[] = [];
    sink.failNext(new Error('Cosmos unavailable'), async () => {
      checkpointAtFailure.push(await checkpoint());
    });
    const second = publish({ Tool__c: 'two' });
    const third = publish({ Tool__c: 'three' });
    await handled(s, third, 'the redelivered events');

    expect(checkpointAtFailure).toEqual([first]);
    expect(sink.attempts.map((a) => a.replayId)).toEqual([first, second, second, third]);
    expect(sink.submittedReplayIds()).toEqual([first, second, third]);
    expect(s.status()).toMatchObject({
      sessions: 2,
      eventsProcessed: 3,
      lastError: { kind: 'processing', message: 'Cosmos unavailable' },
    });
  });

  it('when the stored replay id is refused, falls back to all retained events and raises an alert', async () => {
    const first = subscriber();
    await subscribed(first);
    const early = [publish({ Tool__c: 'a', Request_Id__c: 'ra' }), publish({ Tool__c: 'b', Request_Id__c: 'rb' })];
    await handled(first, early[1], 'the early events');
    await first.stop();
    const missed = publish({ Tool__c: 'c', Request_Id__c: 'rc' });

    sandbox.faults.refuseReplay({ channel: REQUEST_CHANNEL });
    const second = subscriber({ replayFallback: 'all-retained' });
    await handled(second, missed, 'the missed event');

    expect(alerts).toEqual([
      expect.objectContaining({
        code: 'SALESFORCE_REPLAY_REFUSED',
        org,
        channel: REQUEST_CHANNEL,
        replayId: early[1],
        fallback: 'all-retained',
        fallbackReplayId: -2,
      }),
    ]);
    expect(logger.entries.filter((e) => e.level === 'error').map((e) => e.details)).toContainEqual(
      expect.objectContaining({ alert: expect.objectContaining({ code: 'SALESFORCE_REPLAY_REFUSED' }) }),
    );
    // -2 delivers the early events again: the idempotency keys absorb them.
    expect(sink.submitted.map((c) => [c.context.replayId, c.created])).toEqual([
      [early[0], true],
      [early[1], true],
      [early[0], false],
      [early[1], false],
      [missed, true],
    ]);
    expect(second.status().lastReplayId).toBe(missed);
  });

  it('when the stored replay id is refused with the new-only policy, skips to new events and raises an alert', async () => {
    const first = subscriber();
    await subscribed(first);
    const early = publish({ Tool__c: 'a' });
    await handled(first, early, 'the early event');
    await first.stop();
    publish({ Tool__c: 'skipped' });

    sandbox.faults.refuseReplay({ channel: REQUEST_CHANNEL });
    const second = subscriber({ replayFallback: 'new-only' });
    await waitFor('the alert', () => alerts.length === 1);
    await subscribed(second);
    const fresh = publish({ Tool__c: 'fresh' });
    await handled(second, fresh, 'the new event');

    expect(alerts[0]).toMatchObject({ replayId: early, fallback: 'new-only', fallbackReplayId: -1 });
    expect(sink.submittedReplayIds()).toEqual([early, fresh]);
  });

  it('when the session expires, logs in again and resumes with a new client from the checkpoint', async () => {
    const s = subscriber();
    await subscribed(s);
    const before = publish({ Tool__c: 'before' });
    await handled(s, before, 'the first event');

    sandbox.faults.expireSessions();
    const during = publish({ Tool__c: 'during_the_outage' });
    await waitFor('a new login', () => connections.reauthentications === 1);
    await waitFor('the resubscription', () => s.status().sessions === 2 && s.status().state === 'subscribed');
    const after = publish({ Tool__c: 'after' });
    await handled(s, after, 'the later events');

    expect(sink.submittedReplayIds()).toEqual([before, during, after]);
    expect(connections.logins).toBe(2);
    expect(s.status().lastError).toMatchObject({
      kind: 'auth',
      message: expect.stringContaining('401::Authentication invalid'),
    });
  });

  it('when Salesforce drops the streaming client, faye re-handshakes and later events are processed, none repeated', async () => {
    const s = subscriber();
    await subscribed(s);
    const one = publish({ Tool__c: 'one' });
    await handled(s, one, 'the first event');

    sandbox.faults.dropStreamingClients();
    const two = publish({ Tool__c: 'two' });
    await handled(s, two, 'the missed event');
    const three = publish({ Tool__c: 'three' });
    await handled(s, three, 'the next event');

    expect(sink.submittedReplayIds()).toEqual([one, two, three]);
    expect(s.status().sessions).toBe(1);
    expect(logger.entries.map((e) => e.message)).toContainEqual(expect.stringMatching(/re-handshook/));
  });

  it('after a checkpoint write failure, the event comes again and the idempotency key absorbs it', async () => {
    let failures = 1;
    const flaky = {
      get: (o: string, c: string) => checkpoints.get(o, c),
      save: async (o: string, c: string, replayId: number) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('checkpoint store unavailable');
        }
        await checkpoints.save(o, c, replayId);
      },
    };
    const s = new ChannelSubscriber({
      org,
      channel: { channel: REQUEST_CHANNEL, ...strict },
      connections,
      checkpoints: flaky,
      sink,
      processingBackoff: fast,
    });
    subscribers.push(s);
    s.start();
    await subscribed(s);
    const only = publish({ Tool__c: 'once', Request_Id__c: 'req-once' });
    await handled(s, only);
    expect(sink.submitted.map((c) => [c.context.replayId, c.created])).toEqual([
      [only, true],
      [only, false],
    ]);
  });

  function batchedSubscriber(every: { events: number; ms: number }, saves: number[]): ChannelSubscriber {
    const counting = {
      get: (o: string, c: string) => checkpoints.get(o, c),
      save: async (o: string, c: string, replayId: number) => {
        saves.push(replayId);
        await checkpoints.save(o, c, replayId);
      },
    };
    const s = new ChannelSubscriber({
      org,
      channel: { channel: REQUEST_CHANNEL, concurrency: 1, checkpointEvery: every },
      connections,
      checkpoints: counting,
      sink,
      processingBackoff: fast,
    });
    subscribers.push(s);
    s.start();
    return s;
  }

  it('with checkpointEvery, a burst is checkpointed every N events and the rest within the delay; every event once', async () => {
    const saves: number[] = [];
    const s = batchedSubscriber({ events: 5, ms: 200 }, saves);
    await subscribed(s);
    const published = Array.from({ length: 12 }, (_, i) => publish({ Tool__c: `tool_${i}` }));
    await waitFor('every event', () => s.status().lastReplayId === published.at(-1));
    await waitFor('the last checkpoint', async () => (await checkpoint()) === published.at(-1));
    expect(saves).toEqual([published[4], published[9], published[11]]);
    expect(sink.submittedReplayIds()).toEqual(published);
  });

  it('with checkpointEvery, stop() writes the checkpoint of every event handled, and a restart repeats none', async () => {
    const saves: number[] = [];
    const first = batchedSubscriber({ events: 1000, ms: 600_000 }, saves);
    await subscribed(first);
    const published = Array.from({ length: 3 }, (_, i) => publish({ Tool__c: `tool_${i}` }));
    await waitFor('every event', () => first.status().lastReplayId === published.at(-1));
    expect(await checkpoint()).toBeUndefined();
    await first.stop();
    expect(await checkpoint()).toBe(published.at(-1));
    published.push(publish({ Tool__c: 'after_restart' }));
    const second = batchedSubscriber({ events: 1000, ms: 600_000 }, saves);
    await waitFor('the next event', () => second.status().lastReplayId === published.at(-1));
    expect(sink.submittedReplayIds()).toEqual(published);
    expect(sink.submitted.every((c) => c.created)).toBe(true);
  });

  it('with checkpointEvery, a crash (no stop) replays what was not checkpointed, and the idempotency keys absorb it', async () => {
    let crashed = false;
    const dying = {
      get: (o: string, c: string) => checkpoints.get(o, c),
      // After the "crash" nothing this subscriber would still write reaches the store.
      save: async (o: string, c: string, replayId: number) => (crashed ? undefined : checkpoints.save(o, c, replayId)),
    };
    const first = new ChannelSubscriber({
      org,
      channel: { channel: REQUEST_CHANNEL, concurrency: 1, checkpointEvery: { events: 1000, ms: 600_000 } },
      connections,
      checkpoints: dying,
      sink,
      processingBackoff: fast,
    });
    subscribers.push(first);
    first.start();
    await subscribed(first);
    const one = publish({ Tool__c: 'one', Request_Id__c: 'req-crash-1' });
    await waitFor('the event', () => first.status().lastReplayId === one);
    crashed = true;
    await first.stop();
    expect(await checkpoint()).toBeUndefined();

    const second = subscriber({ initialReplay: 'all-retained' });
    await waitFor('the replayed event', () => second.status().lastReplayId === one);
    const two = publish({ Tool__c: 'two', Request_Id__c: 'req-crash-2' });
    await handled(second, two);
    expect(sink.submitted.map((c) => [c.context.replayId, c.created])).toEqual([
      [one, true],
      [one, false],
      [two, true],
    ]);
  });

  it('stop() returns while the login still hangs', async () => {
    const s = new ChannelSubscriber({
      org,
      channel: { channel: REQUEST_CHANNEL },
      connections: { connection: () => new Promise(() => {}), reauthenticate: () => new Promise(() => {}) },
      checkpoints,
      sink,
    });
    s.start();
    await waitFor('the connect attempt', () => s.status().state === 'connecting');
    await s.stop();
    expect(s.status()).toMatchObject({ state: 'stopped', sessions: 0 });
  });

  it('stops cleanly: the streaming client disconnects', async () => {
    const s = subscriber();
    await subscribed(s);
    expect(sandbox.streamingClientCount()).toBe(1);
    await s.stop();
    expect(s.status().state).toBe('stopped');
    await waitFor('the server to forget the client', () => sandbox.streamingClientCount() === 0);
  });
});

import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  REQUEST_CHANNEL,
  RecordingLogger,
  RecordingSink,
  SandboxConnections,
  sandboxOrg,
  testRedis,
  waitFor,
} from '../test-support/salesforce-events.ts';
import type { ReplayRefusedAlert } from './channel-subscriber.ts';
import { EventMappingConfigError } from './event-mapping.ts';
import { leaseKey, PlatformEventConnector, type PlatformEventConnectorOptions } from './platform-event-connector.ts';

const SIGNAL_CHANNEL = '/event/Account_Signal__e';
const fast = { initialMs: 20, maxMs: 200 };

describe('platform event connector: one elected subscriber per (org, channel)', () => {
  const { redis, prefix, cleanup } = testRedis();
  let store: Store;
  let sandbox: SalesforceSandbox;
  let sink: RecordingSink;
  let orgs = 0;
  let orgId: string;
  const connectors: PlatformEventConnector[] = [];

  beforeAll(async () => {
    store = await createStore({ databaseId: `connector-${Date.now()}` });
  });
  afterAll(async () => {
    await store?.close();
    await cleanup();
  });
  beforeEach(async () => {
    sandbox = await startSalesforceSandbox({
      objects: { Account_Signal__e: { fields: { Account_Id__c: { length: 18 }, Signal__c: { length: 80 } } } },
    });
    sink = new RecordingSink();
    orgs += 1;
    orgId = `org-${orgs}`;
  });
  afterEach(async () => {
    await Promise.all(connectors.splice(0).map((c) => c.stop()));
    await sandbox?.close();
  });

  function connector(overrides: Partial<PlatformEventConnectorOptions> = {}): PlatformEventConnector {
    const created = new PlatformEventConnector({
      orgs: [sandboxOrg(sandbox, { id: orgId })],
      redis,
      keyPrefix: prefix,
      store,
      connections: () => new SandboxConnections(sandbox),
      sink,
      logger: new RecordingLogger(),
      leaseTtlMs: 1_500,
      connectBackoff: fast,
      processingBackoff: fast,
      ...overrides,
    });
    connectors.push(created);
    return created;
  }
  const channelStatus = (c: PlatformEventConnector, channel = REQUEST_CHANNEL) => {
    const found = c.status().find((s) => s.channel === channel);
    if (!found) throw new Error(`no status for ${channel}`);
    return found;
  };
  const subscribedLeader = (c: PlatformEventConnector, channel = REQUEST_CHANNEL) =>
    channelStatus(c, channel).role === 'leader' && channelStatus(c, channel).state === 'subscribed';
  const publish = (fields: Record<string, unknown>, channel = REQUEST_CHANNEL) =>
    sandbox.publishEvent(channel, fields).replayId;

  it('two replicas on the same Redis prefix: exactly one subscribes; when it dies the other takes over from the checkpoint', async () => {
    const a = connector();
    const b = connector();
    a.start();
    b.start();
    await waitFor('one leader subscribed', () => subscribedLeader(a) || subscribedLeader(b));
    const [leader, standby] = subscribedLeader(a) ? [a, b] : [b, a];
    await waitFor('the standby to have tried the lease', () => channelStatus(standby).lastLeaseCheckAt !== undefined);

    const first = publish({ Tool__c: 'one' });
    await waitFor('the first event', () => channelStatus(leader).lastReplayId === first);
    expect(channelStatus(standby)).toMatchObject({ role: 'standby', eventsProcessed: 0, terms: 0 });
    expect(channelStatus(leader)).toMatchObject({ role: 'leader', eventsProcessed: 1, terms: 1 });
    expect(sandbox.streamingClientCount()).toBe(1);
    expect(await redis.get(leaseKey(prefix, orgId, REQUEST_CHANNEL))).toBeTruthy();

    // The leader dies: it stops subscribing but neither renews nor releases its lease.
    await leader.stop({ releaseLeases: false });
    expect(await redis.get(leaseKey(prefix, orgId, REQUEST_CHANNEL))).toBeTruthy();
    const whileLeaderless = [publish({ Tool__c: 'two' }), publish({ Tool__c: 'three' })];

    await waitFor('the standby to take over', () => subscribedLeader(standby));
    await waitFor('the events published meanwhile', () => channelStatus(standby).lastReplayId === whileLeaderless[1]);
    const after = publish({ Tool__c: 'four' });
    await waitFor('a later event', () => channelStatus(standby).lastReplayId === after);

    expect(sink.submittedReplayIds()).toEqual([first, ...whileLeaderless, after]);
    expect(sink.submitted.every((c) => c.created)).toBe(true);
    expect(channelStatus(standby)).toMatchObject({ role: 'leader', terms: 1, eventsProcessed: 3 });
    expect(channelStatus(leader)).toMatchObject({ role: 'stopped', eventsProcessed: 1, lastReplayId: first });
    // Written within the channel's checkpointEvery (default 50 events or 1,000 ms).
    await waitFor('the checkpoint', async () => (await standby.checkpoints.get(orgId, REQUEST_CHANNEL)) === after);
    await waitFor('one streaming client', () => sandbox.streamingClientCount() === 1);
  });

  it("writes each channel's checkpoint as its configured checkpointEvery says, and on stop", async () => {
    const c = connector({
      orgs: [
        sandboxOrg(sandbox, {
          id: orgId,
          channels: [{ channel: REQUEST_CHANNEL, checkpointEvery: { events: 3, ms: 60_000 } }],
        }),
      ],
    });
    c.start();
    await waitFor('the subscription', () => subscribedLeader(c));
    const published = Array.from({ length: 7 }, (_, i) => publish({ Tool__c: `tool_${i}` }));
    await waitFor('every event', () => channelStatus(c).lastReplayId === published[6]);
    // After the 3rd and the 6th handled event; the 7th waits for the next 3 or the minute.
    expect(await c.checkpoints.get(orgId, REQUEST_CHANNEL)).toBe(published[5]);
    await c.stop();
    expect(await c.checkpoints.get(orgId, REQUEST_CHANNEL)).toBe(published[6]);
    expect(sink.createdReplayIds().sort((x, y) => x - y)).toEqual(published);
  });

  it('runs every configured channel, and a graceful stop releases the leases for the standby', async () => {
    const org = sandboxOrg(sandbox, {
      id: orgId,
      channels: [
        { channel: REQUEST_CHANNEL },
        {
          channel: SIGNAL_CHANNEL,
          mapping: {
            tool: "'account_signal'",
            arguments: "{ 'accountId': payload.Account_Id__c, 'signal': payload.Signal__c }",
          },
        },
      ],
    });
    // A long TTL: the standby can only take over this fast if the lease was released.
    const a = connector({ orgs: [org], leaseTtlMs: 600_000, acquireEveryMs: 50 });
    a.start();
    await waitFor('both channels subscribed', () => subscribedLeader(a) && subscribedLeader(a, SIGNAL_CHANNEL));
    const b = connector({ orgs: [org], leaseTtlMs: 600_000, acquireEveryMs: 50 });
    b.start();
    const request = publish({ Tool__c: 'query_data' });
    const signal = publish({ Account_Id__c: '0015g00000AbCdEAAZ', Signal__c: 'churn-risk' }, SIGNAL_CHANNEL);
    await waitFor(
      'both events checkpointed',
      () => channelStatus(a).lastReplayId === request && channelStatus(a, SIGNAL_CHANNEL).lastReplayId === signal,
    );
    expect(sink.submitted.map((c) => [c.context.channel, c.request.tool])).toEqual(
      expect.arrayContaining([
        [REQUEST_CHANNEL, 'query_data'],
        [SIGNAL_CHANNEL, 'account_signal'],
      ]),
    );
    expect(a.status()).toEqual([
      expect.objectContaining({ org: orgId, channel: REQUEST_CHANNEL, role: 'leader', lastReplayId: request }),
      expect.objectContaining({ org: orgId, channel: SIGNAL_CHANNEL, role: 'leader', lastReplayId: signal }),
    ]);
    expect(b.status().map((s) => s.role)).toEqual(['standby', 'standby']);

    await a.stop();
    await waitFor(
      'the standby to lead both channels',
      () => subscribedLeader(b) && subscribedLeader(b, SIGNAL_CHANNEL),
    );
    const next = publish({ Tool__c: 'after_handover' });
    await waitFor('the next event', () => channelStatus(b).lastReplayId === next);
    const handled = sink.submitted.map((c) => `${c.context.channel}#${c.context.replayId}`);
    expect(handled).toHaveLength(3);
    expect(new Set(handled).size).toBe(3);
  });

  it('records a refused replay id as an alert on the channel checkpoint and calls onAlert', async () => {
    const seen: ReplayRefusedAlert[] = [];
    const first = connector();
    first.start();
    await waitFor('subscribed', () => subscribedLeader(first));
    const early = publish({ Tool__c: 'early' });
    await waitFor('the early event', () => channelStatus(first).lastReplayId === early);
    await first.stop();

    sandbox.faults.refuseReplay({ channel: REQUEST_CHANNEL });
    const second = connector({ onAlert: (alert) => void seen.push(alert) });
    second.start();
    await waitFor('the alert', () => seen.length === 1);
    const item = await second.checkpoints.read(orgId, REQUEST_CHANNEL);
    expect(item?.alerts).toEqual([
      expect.objectContaining({
        code: 'SALESFORCE_REPLAY_REFUSED',
        details: expect.objectContaining({ replayId: early, fallback: 'all-retained', fallbackReplayId: -2 }),
      }),
    ]);
    await waitFor('the status to show the alert', () => channelStatus(second).lastError?.kind === 'replay-refused');
  });

  it('refuses a channel mapping that does not compile when constructed, naming the channel and key', () => {
    const bad = sandboxOrg(sandbox, { id: orgId, channels: [{ channel: REQUEST_CHANNEL, mapping: { tool: '$$$(' } }] });
    expect(() => connector({ orgs: [bad] })).toThrow(EventMappingConfigError);
    expect(() => connector({ orgs: [bad] })).toThrow(/channel \/event\/MCP_Tool_Request__e: mapping\.tool/);
  });
});

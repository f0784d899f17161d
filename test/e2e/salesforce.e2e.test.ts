import { randomUUID } from 'node:crypto';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import type { StartedWorker } from '@mcp-broker/worker';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BrokerStack, startBrokerStack, startCallbackReceiver } from '../support/broker-stack.ts';
import { brokerTestTools, invocations } from '../support/broker-test-tools.ts';

// The Flow-trigger path end to end on real peers: the Salesforce sandbox (OAuth, REST, a faye
// Bayeux server), the worker's platform event connector, the intake, BullMQ on Redis, the governed
// MCP server, the embedded Cosmos store, and the salesforce-* write-back targets through jsforce.

const CHANNEL = '/event/MCP_Tool_Request__e';
let sandbox: SalesforceSandbox;
let stack: BrokerStack;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
/** The worker replica whose connector currently leads (tests stop and start replicas). */
let worker: StartedWorker;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ longPollTimeoutMs: 2_000 });
  receiver = await startCallbackReceiver();
  stack = await startBrokerStack({
    tools: brokerTestTools,
    callbackHost: receiver.host,
    roles: ['Test.Echo'],
    salesforce: {
      loginUrl: sandbox.loginUrl,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
      apiVersion: sandbox.apiVersion,
    },
  });
  worker = stack.worker as StartedWorker;
  await leaderIs(worker);
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await sandbox?.close();
  await receiver?.close();
}, 60_000);

async function leaderIs(replica: StartedWorker) {
  await vi.waitFor(
    () => expect(replica.salesforceChannels().find((c) => c.channel === CHANNEL)?.state).toBe('subscribed'),
    { timeout: 20_000, interval: 50 },
  );
}

function opportunity(name = `Opp ${randomUUID().slice(0, 8)}`) {
  return sandbox.insertRecord('Opportunity', { Name: name, StageName: 'Prospecting', CloseDate: '2026-12-31' });
}

/** What a record-triggered Flow publishes: echo the message, write it into Description, upsert a result. */
function publishRequest(recordId: string, message: string, over: Record<string, unknown> = {}) {
  return sandbox.publishEvent(CHANNEL, {
    Tool__c: 'test_echo',
    Arguments__c: JSON.stringify({ message }),
    Record_Id__c: recordId,
    Request_Id__c: `req-${message}`,
    Write_Back__c: JSON.stringify([
      { type: 'salesforce-record', sobject: 'Opportunity', fields: { Description: 'structuredContent.echoed' } },
      { type: 'salesforce-result' },
    ]),
    ...over,
  });
}

const resultFor = (requestId: string) => sandbox.records('MCP_Result__c').find((r) => r.Request_Id__c === requestId);
const description = (id: string) => sandbox.records('Opportunity').find((r) => r.Id === id)?.Description;

describe('Salesforce Flow trigger end to end', () => {
  it('an event becomes a tool call as the org’s caller and its result is written back to the record', async () => {
    const id = opportunity();
    const message = `flow-${randomUUID().slice(0, 8)}`;
    publishRequest(id, message);
    await expect.poll(() => description(id), { timeout: 20_000 }).toBe(message);
    await expect.poll(() => resultFor(`req-${message}`)?.Status__c, { timeout: 20_000 }).toBe('succeeded');
    expect(invocations.get(`echo:${message}`)).toBe(1);
    // The call is caller-a's own (the org's caller): it lists it with the event as its source.
    const list = await fetch(`${stack.ingressUrl}/v1/tool-calls?limit=100`, {
      headers: { authorization: stack.auth('caller-a') },
    });
    const items = (
      (await list.json()) as {
        items: Array<{
          tool: string;
          source: { kind: string; reference?: string };
          deliveries: Array<{ type: string; recordId?: string }>;
        }>;
      }
    ).items;
    const call = items.find((i) => i.deliveries.some((d) => d.type === 'salesforce-record' && d.recordId === id));
    expect(call).toMatchObject({
      tool: 'test_echo',
      source: { kind: 'salesforce', reference: expect.stringMatching(/^org-a\/\/event\/MCP_Tool_Request__e\/\d+$/) },
    });
  });

  it('a malformed event is rejected with a stored reason written back as a failed result, and does not block the channel', async () => {
    const id = opportunity();
    const bad = `bad-${randomUUID().slice(0, 8)}`;
    publishRequest(id, bad, { Arguments__c: '{"message": ' });
    const good = `after-bad-${randomUUID().slice(0, 8)}`;
    publishRequest(id, good);
    await expect.poll(() => resultFor(`req-${bad}`)?.Status__c, { timeout: 20_000 }).toBe('failed');
    expect(String(resultFor(`req-${bad}`)?.Error__c)).toMatch(/^EVENT_BAD_JSON: .*Arguments__c/);
    await expect.poll(() => description(id), { timeout: 20_000 }).toBe(good);
    expect(invocations.get(`echo:${bad}`)).toBeUndefined();
  });

  it('an event for a tool the org’s caller may not call is refused and written back, not retried', async () => {
    const requestId = `req-refused-${randomUUID().slice(0, 8)}`;
    sandbox.publishEvent(CHANNEL, {
      Tool__c: 'no_such_tool',
      Arguments__c: '{}',
      Request_Id__c: requestId,
      Write_Back__c: JSON.stringify([{ type: 'salesforce-result' }]),
    });
    await expect.poll(() => resultFor(requestId)?.Status__c, { timeout: 20_000 }).toBe('failed');
    expect(String(resultFor(requestId)?.Error__c)).toMatch(/^BROKER_TOOL_NOT_FOUND: .*no_such_tool/);
  });

  it('an event asking to write into an org that is not its caller’s is refused; its own org still hears why', async () => {
    const requestId = `req-foreign-org-${randomUUID().slice(0, 8)}`;
    const message = `foreign-${randomUUID().slice(0, 8)}`;
    sandbox.publishEvent(CHANNEL, {
      Tool__c: 'test_echo',
      Arguments__c: JSON.stringify({ message }),
      Request_Id__c: requestId,
      Write_Back__c: JSON.stringify([
        { type: 'salesforce-result' },
        { type: 'salesforce-event', org: 'someone-elses-org' },
      ]),
    });
    await expect.poll(() => resultFor(requestId)?.Status__c, { timeout: 20_000 }).toBe('failed');
    expect(String(resultFor(requestId)?.Error__c)).toMatch(/^BROKER_WRITE_BACK_NOT_ALLOWED: .*someone-elses-org/);
    expect(invocations.get(`echo:${message}`)).toBeUndefined();
    expect(
      sandbox.retainedEvents('/event/MCP_Tool_Result__e').some((e) => e.data.payload.Request_Id__c === requestId),
    ).toBe(false);
  });

  it('the same event delivered twice (same Request_Id__c) calls the tool once and writes back once', async () => {
    const id = opportunity();
    const message = `twice-${randomUUID().slice(0, 8)}`;
    publishRequest(id, message);
    publishRequest(id, message);
    await expect.poll(() => resultFor(`req-${message}`)?.Status__c, { timeout: 20_000 }).toBe('succeeded');
    // Let the second event through the channel before counting.
    const marker = `marker-${randomUUID().slice(0, 8)}`;
    publishRequest(opportunity(), marker);
    await expect.poll(() => resultFor(`req-${marker}`)?.Status__c, { timeout: 20_000 }).toBe('succeeded');
    expect(invocations.get(`echo:${message}`)).toBe(1);
    expect(sandbox.records('MCP_Result__c').filter((r) => r.Request_Id__c === `req-${message}`)).toHaveLength(1);
  });

  it('after the org expires every session, streaming and REST log in again and the next event is written back', async () => {
    const id = opportunity();
    sandbox.faults.expireSessions();
    const message = `expired-${randomUUID().slice(0, 8)}`;
    publishRequest(id, message);
    await expect.poll(() => description(id), { timeout: 30_000 }).toBe(message);
    expect(invocations.get(`echo:${message}`)).toBe(1);
  });

  it('a locked row is retried and written; an unknown field is final with Salesforce’s code and message', async () => {
    const id = opportunity();
    sandbox.faults.lockRows({ sobject: 'Opportunity' });
    const locked = `locked-${randomUUID().slice(0, 8)}`;
    publishRequest(id, locked, {
      Write_Back__c: JSON.stringify([
        { type: 'salesforce-record', sobject: 'Opportunity', fields: { Description: 'structuredContent.echoed' } },
      ]),
    });
    await expect.poll(() => description(id), { timeout: 20_000 }).toBe(locked);

    const other = opportunity();
    const unknown = `unknown-field-${randomUUID().slice(0, 8)}`;
    publishRequest(other, unknown, {
      Write_Back__c: JSON.stringify([
        { type: 'salesforce-record', sobject: 'Opportunity', fields: { No_Such_Field__c: 'structuredContent.echoed' } },
      ]),
    });
    const calls = async () => {
      const res = await fetch(`${stack.ingressUrl}/v1/tool-calls?limit=100`, {
        headers: { authorization: stack.auth('caller-a') },
      });
      return (
        (await res.json()) as {
          items: Array<{
            id: string;
            deliveries: Array<{ recordId?: string; status: string; lastError?: { code: string; message: string } }>;
          }>;
        }
      ).items;
    };
    await expect
      .poll(async () => (await calls()).flatMap((c) => c.deliveries).find((d) => d.recordId === other)?.status, {
        timeout: 20_000,
      })
      .toBe('failed');
    const failed = (await calls()).flatMap((c) => c.deliveries).find((d) => d.recordId === other);
    expect(failed?.lastError).toMatchObject({
      code: 'SALESFORCE_INVALID_FIELD',
      message: expect.stringContaining('No_Such_Field__c'),
    });
  });
});

describe('Salesforce subscriber across restarts and replicas', () => {
  it('events published while the broker is stopped are each processed once after it restarts', async () => {
    await worker.close();
    const id = opportunity();
    const messages = Array.from({ length: 3 }, (_, i) => `offline-${i}-${randomUUID().slice(0, 8)}`);
    for (const m of messages) publishRequest(id, m);
    worker = await stack.startWorkerReplica({ HEALTH_PORT: '0' });
    for (const m of messages) {
      await expect.poll(() => resultFor(`req-${m}`)?.Status__c, { timeout: 30_000 }).toBe('succeeded');
    }
    for (const m of messages) expect(invocations.get(`echo:${m}`)).toBe(1);
  });

  it('two worker replicas have one subscriber; the other takes over when it stops', async () => {
    const second = await stack.startWorkerReplica({ HEALTH_PORT: '0' });
    const roles = () => [worker, second].map((w) => w.salesforceChannels().find((c) => c.channel === CHANNEL)?.role);
    await expect.poll(() => roles().sort(), { timeout: 20_000 }).toEqual(['leader', 'standby']);
    const [leader, standby] = roles()[0] === 'leader' ? [worker, second] : [second, worker];
    await leader.close();
    await leaderIs(standby);
    worker = standby;
    // The survivor's status endpoint shows it leading, with the channel's checkpoint.
    const status = (await (await fetch(`${standby.healthUrl}/status`)).json()) as {
      salesforce: Array<{ channel: string; role: string }>;
      toolCalls: Record<string, Record<string, number>>;
    };
    expect(status.salesforce.find((c) => c.channel === CHANNEL)).toMatchObject({ role: 'leader', org: 'org-a' });
    expect(Object.keys(status.toolCalls).sort()).toEqual(['admin', 'caller-a', 'caller-b']);
    expect((await fetch(`${standby.healthUrl}/readyz`)).status).toBe(200);
    const id = opportunity();
    const message = `takeover-${randomUUID().slice(0, 8)}`;
    publishRequest(id, message);
    await expect.poll(() => description(id), { timeout: 20_000 }).toBe(message);
    expect(invocations.get(`echo:${message}`)).toBe(1);
  });
});

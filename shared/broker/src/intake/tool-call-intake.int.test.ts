import { randomUUID } from 'node:crypto';
import type { CallerConfig } from '@mcp-broker/broker-config';
import { BrokerError, type ToolCallRequest } from '@mcp-broker/contracts';
import { createStore, type Store } from '@mcp-broker/store';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  closeIntakePeers,
  intakeBrokerConfig,
  intakeRequest,
  recordsWithKey as recordsIn,
} from '../../test-support/intake-fixture.ts';
import { BrokerQueues, bullPrefix } from '../queues/broker-queues.ts';
import { toolCallQueueName } from '../queues/queue-names.ts';
import { toolCallId } from '../record/tool-call-id.ts';
import { ToolCallRepository } from '../record/tool-call-repository.ts';
import type { ArgumentValidator } from './argument-validator.ts';
import { ToolCallIntake } from './tool-call-intake.ts';
import { WriteBackPolicy } from './write-back-policy.ts';

const prefix = `intake:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let intake: ToolCallIntake;
let repository: ToolCallRepository;
let writeBackPolicy: WriteBackPolicy;

const broker = intakeBrokerConfig(['acme', 'other'], ['generate_contract']);
const acme = broker.callers[0] as CallerConfig;
// The endpoint's tool list is another module's concern (CatalogArgumentValidator); here one tool exists.
const validator: ArgumentValidator = {
  validate: async (_caller, tool) => (tool === 'generate_contract' ? { kind: 'ok' } : { kind: 'unknown_tool' }),
};

beforeAll(async () => {
  store = await createStore({ databaseId: `intake-${randomUUID()}` });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix });
  repository = new ToolCallRepository({ store });
  writeBackPolicy = new WriteBackPolicy({ salesforceOrgs: broker.salesforce.orgs, env: {} });
  intake = new ToolCallIntake({ repository, queues, redis, prefix, validator, writeBackPolicy });
});
afterAll(() => closeIntakePeers({ queues, redis, store, prefix }));

const request = (over: Partial<ToolCallRequest> = {}) => intakeRequest('req-intake-test', over);

async function writeBackJobs() {
  return (await queues.writeBackQueue().getJobs(['waiting', 'delayed', 'prioritized'])).map((j) => j.data);
}

async function toolCallJobs(caller = 'acme') {
  return (await queues.toolCallQueue(caller).getJobs(['waiting', 'delayed', 'prioritized'])).map((j) => j.data);
}

const recordsWithKey = (key: string) => recordsIn(store, key);

describe('tool-call intake: accept', () => {
  it("refuses a target in another caller's org, naming the field, and with recordRefusal false stores nothing", async () => {
    const key = randomUUID();
    const acceptance = await intake.accept(
      acme,
      request({ idempotencyKey: key, writeBack: [{ type: 'salesforce-event', org: 'other-org' }] }),
      { recordRefusal: false },
    );
    expect(acceptance).toMatchObject({
      outcome: 'refused',
      reason: {
        code: 'BROKER_WRITE_BACK_NOT_ALLOWED',
        status: 400,
        details: { field: 'writeBack[0].org' },
        message: expect.stringContaining('connected: acme-org'),
      },
    });
    expect(acceptance).not.toHaveProperty('record');
    // Reads the same as an org that does not exist: nothing says whose it is.
    expect(acceptance).not.toMatchObject({ reason: { message: expect.stringContaining('"other"') } });
    expect(await recordsWithKey(key)).toHaveLength(0);
  });

  it('records a refusal of its own (tool not allowed) as failed, writes it back once, and never queues it', async () => {
    const key = randomUUID();
    const refused = request({
      tool: 'drop_tables',
      idempotencyKey: key,
      writeBack: [
        { type: 'salesforce-result', org: 'acme-org' },
        // Not the caller's: dropped rather than delivered.
        { type: 'salesforce-event', org: 'other-org' },
      ],
    });
    const first = await intake.accept(acme, refused);
    expect(first).toMatchObject({
      outcome: 'refused',
      reason: { code: 'BROKER_TOOL_NOT_ALLOWED', status: 403 },
      record: {
        status: 'failed',
        tool: 'drop_tables',
        attempts: 0,
        error: { code: 'BROKER_TOOL_NOT_ALLOWED', message: `Tool "drop_tables" is not on caller "acme"'s allowlist.` },
      },
    });
    if (first.outcome !== 'refused' || !first.record) throw new Error('expected a recorded refusal');
    expect(first.record.error?.deadLettered).toBeUndefined();
    expect(first.record.history.at(-1)?.note).toBe('refused: BROKER_TOOL_NOT_ALLOWED');
    expect(first.record.deliveries.map((d) => d.target.type)).toEqual(['salesforce-result']);
    const again = await intake.accept(acme, refused);
    expect(again).toMatchObject({ outcome: 'refused', record: { id: first.record.id, status: 'failed' } });
    expect((await writeBackJobs()).filter((j) => j.callId === first.record?.id)).toHaveLength(1);
    expect((await toolCallJobs()).filter((j) => j.callId === first.record?.id)).toHaveLength(0);
  });

  it('a call already accepted under a key stays queued when its redelivery would now be refused (allowlist narrowed)', async () => {
    const accepted = request();
    const first = await intake.accept(acme, accepted);
    expect(first).toMatchObject({ outcome: 'queued', record: { status: 'queued' } });
    const narrowed: CallerConfig = { ...acme, tools: ['another_tool'] };
    const again = await intake.accept(narrowed, accepted);
    expect(again).toMatchObject({ outcome: 'duplicate', record: { id: first.record?.id, status: 'queued' } });
    const stored = await repository.get(acme.id, toolCallId(acme.id, accepted.idempotencyKey));
    expect(stored).toMatchObject({ status: 'queued', attempts: 0 });
    expect(stored?.error).toBeUndefined();
    expect(stored?.history.map((h) => h.status)).toEqual(['queued']);
  });

  it('a new small call carries its record to the worker; one with large arguments carries ids only', async () => {
    const small = await intake.accept(acme, request());
    const large = await intake.accept(acme, request({ arguments: { opportunity_id: 'x'.repeat(64 * 1024) } }));
    const jobs = await toolCallJobs();
    const smallJob = jobs.find((j) => j.callId === small.record?.id);
    const largeJob = jobs.find((j) => j.callId === large.record?.id);
    expect(smallJob?.created?.record.id).toBe(small.record?.id);
    expect(smallJob?.created?.etag).toEqual(expect.any(String));
    expect(largeJob).toEqual({ callId: large.record?.id, caller: 'acme' });
  });

  it('stores a refusal failed in its one write: the record never exists queued', async () => {
    const refused = request({ tool: 'drop_tables' });
    const first = await intake.accept(acme, refused);
    const stored = await repository.get(acme.id, toolCallId(acme.id, refused.idempotencyKey));
    expect(first).toMatchObject({ outcome: 'refused', record: { status: 'failed' } });
    // created === updated: no second write moved it from queued to failed.
    expect(stored).toMatchObject({ status: 'failed', deliveriesLeft: 0 });
    expect(stored?.updatedAt).toBe(stored?.createdAt);
  });

  it('records a source refusal as failed with the source code, checks nothing else, and writes the failure back once', async () => {
    const key = randomUUID();
    const bad = request({
      // Unknown to the endpoint and off the allowlist: with a source refusal neither is checked.
      tool: '',
      idempotencyKey: key,
      writeBack: [
        { type: 'salesforce-result', org: 'acme-org' },
        { type: 'salesforce-event', org: 'other-org' },
      ],
    });
    const refusal = { code: 'EVENT_TOOL_MISSING' as const, message: 'Tool__c is empty.' };
    const first = await intake.accept(acme, bad, { refusal });
    expect(first).toMatchObject({
      outcome: 'refused',
      reason: { code: 'BROKER_VALIDATION_FAILED', status: 400, message: 'Tool__c is empty.' },
      record: { status: 'failed', tool: '(none)', error: refusal, attempts: 0 },
    });
    if (first.outcome !== 'refused' || !first.record) throw new Error('expected a recorded refusal');
    expect(first.record.error).toEqual(refusal);
    expect(first.record.deliveries.map((d) => d.target.type)).toEqual(['salesforce-result']);
    const again = await intake.accept(acme, bad, { refusal });
    expect(again).toMatchObject({ outcome: 'refused', record: { id: first.record.id } });
    expect((await writeBackJobs()).filter((j) => j.callId === first.record?.id)).toHaveLength(1);
    expect(await recordsWithKey(key)).toHaveLength(1);
  });

  it('a missing or oversized key is refused and nothing is recorded, even when refusals are recorded', async () => {
    for (const idempotencyKey of ['', 'k'.repeat(256)]) {
      const acceptance = await intake.accept(acme, request({ idempotencyKey }));
      expect(acceptance).toMatchObject({
        outcome: 'refused',
        reason: { code: 'BROKER_IDEMPOTENCY_KEY_MISSING', status: 400 },
      });
      expect(acceptance).not.toHaveProperty('record');
      expect(await recordsWithKey(idempotencyKey)).toHaveLength(0);
    }
  });

  it('a key reused with another body is refused and leaves the call it belongs to as it was', async () => {
    const key = randomUUID();
    const original = await intake.accept(acme, request({ idempotencyKey: key }));
    expect(original.outcome).toBe('queued');
    const reused = await intake.accept(acme, request({ idempotencyKey: key, arguments: { opportunity_id: 'other' } }));
    expect(reused).toMatchObject({
      outcome: 'refused',
      reason: { code: 'BROKER_IDEMPOTENCY_KEY_REUSED', status: 422 },
    });
    expect(reused).not.toHaveProperty('record');
    // Even a source refusal under that key does not fail the call that owns it.
    const refusedReuse = await intake.accept(acme, request({ idempotencyKey: key, tool: '' }), {
      refusal: { code: 'EVENT_TOOL_MISSING', message: 'no tool' },
    });
    expect(refusedReuse).toMatchObject({ outcome: 'refused' });
    expect(refusedReuse).not.toHaveProperty('record');
    const [stored] = await recordsWithKey(key);
    expect(stored).toMatchObject({ status: 'queued', arguments: { opportunity_id: 'opp-000001-01' } });
  });

  it('throws on transient trouble (the tool list unreachable) and records nothing, so the source sends it again', async () => {
    const flaky = new ToolCallIntake({
      repository,
      queues,
      redis,
      prefix,
      validator: {
        validate: async () => {
          throw new BrokerError('BROKER_UPSTREAM_UNAVAILABLE', 'Could not read the tool list.');
        },
      },
      writeBackPolicy,
    });
    const key = randomUUID();
    await expect(flaky.accept(acme, request({ idempotencyKey: key }))).rejects.toMatchObject({
      code: 'BROKER_UPSTREAM_UNAVAILABLE',
    });
    expect(await recordsWithKey(key)).toHaveLength(0);
  });

  it('throws BROKER_IDEMPOTENCY_IN_PROGRESS while another replica is accepting the same key', async () => {
    const key = randomUUID();
    const lockKey = `${prefix}idem:${toolCallId('acme', key)}`;
    await redis.set(lockKey, 'another-replica:token', 'PX', 10_000);
    try {
      await expect(intake.accept(acme, request({ idempotencyKey: key }))).rejects.toMatchObject({
        code: 'BROKER_IDEMPOTENCY_IN_PROGRESS',
        status: 409,
      });
      expect(await recordsWithKey(key)).toHaveLength(0);
    } finally {
      await redis.del(lockKey);
    }
    expect((await intake.accept(acme, request({ idempotencyKey: key }))).outcome).toBe('queued');
  });

  it('a key whose holder died after recording the call (its lock still held) is a duplicate of that call, queued once, not BROKER_IDEMPOTENCY_IN_PROGRESS', async () => {
    const key = randomUUID();
    // The dead holder got as far as the record, not the job.
    const recorded = await repository.create('acme', 'local', request({ idempotencyKey: key }));
    const lockKey = `${prefix}idem:${toolCallId('acme', key)}`;
    await redis.set(lockKey, 'dead-replica:token', 'PX', 10_000);
    try {
      expect(await queues.hasLiveToolCall('acme', recorded.record.id)).toBe(false);
      const again = await intake.accept(acme, request({ idempotencyKey: key }));
      expect(again).toMatchObject({ outcome: 'duplicate', record: { id: recorded.record.id, status: 'queued' } });
      expect(await queues.hasLiveToolCall('acme', recorded.record.id)).toBe(true);
      // A third try while the lock is still held changes nothing: one record, one job.
      expect((await intake.accept(acme, request({ idempotencyKey: key }))).outcome).toBe('duplicate');
      expect(await recordsWithKey(key)).toHaveLength(1);
    } finally {
      await redis.del(lockKey);
      await queues.removeQueuedToolCall('acme', recorded.record.id);
    }
  });

  it('while a dead holder keeps the lock, another request under the same key is still BROKER_IDEMPOTENCY_KEY_REUSED, and a call already running is not queued again', async () => {
    const key = randomUUID();
    const recorded = await repository.create('acme', 'local', request({ idempotencyKey: key }));
    const lockKey = `${prefix}idem:${toolCallId('acme', key)}`;
    await redis.set(lockKey, 'dead-replica:token', 'PX', 10_000);
    try {
      await expect(
        intake.accept(acme, request({ idempotencyKey: key, arguments: { opportunity_id: 'opp-other' } })),
      ).resolves.toMatchObject({ outcome: 'refused', reason: { code: 'BROKER_IDEMPOTENCY_KEY_REUSED', status: 422 } });
      await repository.apply('acme', recorded.record.id, (current, now) => ({
        ...current,
        status: 'running',
        history: [...current.history, { status: 'running', at: now }],
      }));
      const again = await intake.accept(acme, request({ idempotencyKey: key }));
      expect(again).toMatchObject({ outcome: 'duplicate', record: { status: 'running' } });
      expect(await queues.hasLiveToolCall('acme', recorded.record.id)).toBe(false);
    } finally {
      await redis.del(lockKey);
    }
  });

  it('queues a new call once; the same key again is a duplicate of the same record, queued once', async () => {
    const key = randomUUID();
    const first = await intake.accept(
      acme,
      request({ idempotencyKey: key, writeBack: [{ type: 'salesforce-result', org: 'acme-org' }] }),
    );
    expect(first).toMatchObject({ outcome: 'queued', record: { status: 'queued', caller: 'acme', endpoint: 'local' } });
    expect(first.outcome === 'queued' && first.record.deliveries).toMatchObject([
      { target: { type: 'salesforce-result', org: 'acme-org' } },
    ]);
    const again = await intake.accept(
      acme,
      request({
        idempotencyKey: key,
        writeBack: [{ type: 'salesforce-result', org: 'acme-org' }],
        correlation: { requestId: 'another-delivery' },
      }),
    );
    expect(again).toMatchObject({
      outcome: 'duplicate',
      record: { id: first.outcome === 'queued' ? first.record.id : '' },
    });
    const id = first.outcome === 'queued' ? first.record.id : '';
    expect((await toolCallJobs()).filter((j) => j.callId === id)).toHaveLength(1);
  });
  it('a resend the moment the 202 is given is the duplicate of its call, not BROKER_IDEMPOTENCY_IN_PROGRESS (the answer does not wait for the lock to be released)', async () => {
    const key = randomUUID();
    const first = await intake.accept(acme, request({ idempotencyKey: key }));
    // Sent in the same tick: the first request's release may not have reached Redis yet.
    const [again, third] = await Promise.all([
      intake.accept(acme, request({ idempotencyKey: key })),
      intake.accept(acme, request({ idempotencyKey: key })),
    ]);
    expect([first.outcome, again.outcome, third.outcome]).toEqual(['queued', 'duplicate', 'duplicate']);
    const id = first.outcome === 'queued' ? first.record.id : '';
    expect((await toolCallJobs()).filter((j) => j.callId === id)).toHaveLength(1);
    // And the lock is gone soon after, so nothing lingers for its 15 s.
    await vi.waitFor(async () => expect(await redis.exists(`${prefix}idem:${id}`)).toBe(0), { timeout: 5_000 });
  });

  it('a finished job left under a new call’s id (its earlier record gone) is still removed and the new call queued, though the id is checked while the record is written', async () => {
    // A prefix of its own: the worker that fails the job sees no other test's jobs.
    const own = `${prefix}leftover:`;
    const ownQueues = new BrokerQueues({ connection: redis, prefix: own, retry: { toolCallAttempts: 1 } });
    const ownIntake = new ToolCallIntake({
      repository,
      queues: ownQueues,
      redis,
      prefix: own,
      validator,
      writeBackPolicy,
    });
    const key = randomUUID();
    const id = toolCallId('acme', key);
    // The job of an earlier call under this key, failed, whose record is gone (expired, or a lost store).
    await ownQueues.enqueueToolCall({ callId: id, caller: 'acme' });
    const worker = new Worker(
      toolCallQueueName('acme'),
      async () => {
        throw new Error('the earlier call failed');
      },
      { connection: redis.duplicate(), prefix: bullPrefix(own) },
    );
    const queue = ownQueues.toolCallQueue('acme');
    try {
      await vi.waitFor(async () => expect(await queue.getJobState(id)).toBe('failed'), { timeout: 10_000 });
      await worker.close();
      const accepted = await ownIntake.accept(acme, request({ idempotencyKey: key }));
      expect(accepted).toMatchObject({ outcome: 'queued', record: { id, status: 'queued' } });
      expect(await queue.getJobState(id)).toBe('waiting');
      const [job] = await queue.getJobs(['waiting']);
      // The new call's job: it carries the new record, not the earlier one's ids only.
      expect(job?.data).toMatchObject({ callId: id, created: { record: { id } } });
    } finally {
      await worker.close();
      await ownQueues.close();
    }
  });
});

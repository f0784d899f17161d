import { randomUUID } from 'node:crypto';
import type { CallerConfig } from '@mcp-broker/broker-config';
import type { ToolCallRequest } from '@mcp-broker/contracts';
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
import { batchesOf, ToolCallRepository } from '../record/tool-call-repository.ts';
import { AcceptCoalescer } from './accept-coalescer.ts';
import type { ArgumentValidator } from './argument-validator.ts';
import { type ManyAcceptance, ToolCallIntake } from './tool-call-intake.ts';
import { WriteBackPolicy } from './write-back-policy.ts';

const prefix = `accept-many:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let repository: ToolCallRepository;
let intake: ToolCallIntake;
let writeBackPolicy: WriteBackPolicy;

const broker = intakeBrokerConfig(['acme'], ['generate_contract', 'flaky_tool']);
const acme = broker.callers[0] as CallerConfig;
// `flaky_tool`'s list cannot be read (transient); any other tool but generate_contract is unknown.
const validator: ArgumentValidator = {
  validate: async (_caller, tool) => {
    if (tool === 'flaky_tool') throw new Error('tool list unreachable');
    return tool === 'generate_contract' ? { kind: 'ok' } : { kind: 'unknown_tool' };
  },
};

/** The store as a peer that counts its requests and can be told to fail: batches lost after writing, creates refused. */
function faultyStore(real: Store) {
  const counts = { batch: 0, create: 0 };
  const faults = { loseBatchResponses: false, refuseBatches: false, failCreateOf: new Set<string>() };
  const container = real.container('toolCalls');
  const items = new Proxy(container.items, {
    get(target, name) {
      if (name === 'batch') {
        return async (...args: Parameters<typeof target.batch>) => {
          counts.batch += 1;
          // As Cosmos answers an atomic batch one of whose operations failed: nothing written, every one 424.
          if (faults.refuseBatches) {
            return { result: args[0].map(() => ({ statusCode: 424, requestCharge: 0 })) } as Awaited<
              ReturnType<typeof target.batch>
            >;
          }
          const response = await target.batch(...args);
          if (faults.loseBatchResponses) throw new Error('socket hang up (batch written, answer lost)');
          return response;
        };
      }
      if (name === 'create') {
        return async (body: { id: string }, ...rest: unknown[]) => {
          counts.create += 1;
          if (faults.failCreateOf.has(body.id)) throw Object.assign(new Error('store unavailable'), { code: 503 });
          return (target.create as (...a: unknown[]) => unknown)(body, ...rest);
        };
      }
      const value = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const wrapped = new Proxy(container, {
    get(target, name) {
      if (name === 'items') return items;
      const value = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const store: Store = { ...real, container: (name) => (name === 'toolCalls' ? wrapped : real.container(name)) };
  return { store, counts, faults };
}

let faulty: ReturnType<typeof faultyStore>;

beforeAll(async () => {
  store = await createStore({ databaseId: `accept-many-${randomUUID()}` });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix });
  faulty = faultyStore(store);
  repository = new ToolCallRepository({ store: faulty.store });
  writeBackPolicy = new WriteBackPolicy({ salesforceOrgs: broker.salesforce.orgs, env: {} });
  intake = new ToolCallIntake({ repository, queues, redis, prefix, validator, writeBackPolicy });
});
afterAll(() => closeIntakePeers({ queues, redis, store, prefix }));

const request = (over: Partial<ToolCallRequest> = {}) => intakeRequest('req-accept-many', over);

const recordsWithKey = (key: string) => recordsIn(store, key);

async function jobsOf(id: string) {
  const jobs = await queues.toolCallQueue('acme').getJobs(['waiting', 'delayed', 'prioritized', 'active']);
  return jobs.filter((j) => j.data.callId === id);
}

const idOf = (r: ToolCallRequest) => toolCallId('acme', r.idempotencyKey);
const outcomes = (list: ManyAcceptance[]) => list.map((a) => a.outcome);

describe('tool-call intake: acceptMany', () => {
  it('records a group in transactional batches (no create per record) and queues one job per call, in order', async () => {
    const group = Array.from({ length: 250 }, () => request());
    const before = { ...faulty.counts };
    const result = await intake.acceptMany(acme, group);
    expect(outcomes(result)).toEqual(group.map(() => 'queued'));
    result.forEach((a, i) => {
      expect(a).toMatchObject({ record: { id: idOf(group[i] as ToolCallRequest), status: 'queued' } });
    });
    // 250 records: batches of 100, 100, 50; not one single create.
    expect(faulty.counts.batch - before.batch).toBe(3);
    expect(faulty.counts.create - before.create).toBe(0);
    for (const r of group.slice(0, 5).concat(group.slice(-5))) {
      const jobs = await jobsOf(idOf(r));
      expect(jobs).toHaveLength(1);
      // A new small record rides with its job, with the ETag the batch stored it with.
      expect(jobs[0]?.data.created?.etag).toEqual(expect.any(String));
    }
  });

  it('splits a group over the byte limit into batches under it, and every call is recorded once', async () => {
    // Ten records of ~300 KB: 3 MB, above the 1.5 MB a batch may carry.
    const group = Array.from({ length: 10 }, () => request({ arguments: { opportunity_id: 'x'.repeat(300_000) } }));
    const fresh = group.map((r) => ({ ...r, id: idOf(r) }) as never);
    const batches = batchesOf(fresh);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(batch.length * 300_000).toBeLessThanOrEqual(1_500_000);
    const result = await intake.acceptMany(acme, group);
    expect(outcomes(result)).toEqual(group.map(() => 'queued'));
    for (const r of group) expect(await recordsWithKey(r.idempotencyKey)).toHaveLength(1);
    // Large records are read by the worker: the job carries ids only.
    expect((await jobsOf(idOf(group[0] as ToolCallRequest)))[0]?.data).toEqual({
      callId: idOf(group[0] as ToolCallRequest),
      caller: 'acme',
    });
  });

  it('the same key twice in a group is one call: queued, then its duplicate; with other arguments, the key reuse is refused', async () => {
    const twice = request();
    const reused = request();
    const group = [twice, request(), { ...twice }, reused, { ...reused, arguments: { opportunity_id: 'other' } }];
    const result = await intake.acceptMany(acme, group);
    expect(outcomes(result)).toEqual(['queued', 'queued', 'duplicate', 'queued', 'refused']);
    expect(result[2]).toMatchObject({ record: { id: idOf(twice) } });
    expect(result[4]).toMatchObject({ reason: { code: 'BROKER_IDEMPOTENCY_KEY_REUSED', status: 422 } });
    expect(await recordsWithKey(twice.idempotencyKey)).toHaveLength(1);
    expect(await jobsOf(idOf(twice))).toHaveLength(1);
    const [stored] = await recordsWithKey(reused.idempotencyKey);
    expect(stored).toMatchObject({ arguments: { opportunity_id: 'opp-000001-01' } });
  });

  it('a refused request and an acceptable one under the same key in one group are decided in order, as one after the other', async () => {
    const key = randomUUID();
    const refusedFirst = await intake.acceptMany(acme, [
      request({ idempotencyKey: key, tool: 'drop_tables' }),
      request({ idempotencyKey: key }),
    ]);
    // The refusal is recorded under the key; the call after it finds the key another request's.
    expect(outcomes(refusedFirst)).toEqual(['refused', 'refused']);
    expect(refusedFirst[0]).toMatchObject({
      reason: { code: 'BROKER_TOOL_NOT_ALLOWED' },
      record: { status: 'failed' },
    });
    expect(refusedFirst[1]).toMatchObject({ reason: { code: 'BROKER_IDEMPOTENCY_KEY_REUSED' } });
    const other = randomUUID();
    const acceptedFirst = await intake.acceptMany(acme, [
      request({ idempotencyKey: other }),
      request({ idempotencyKey: other, tool: 'drop_tables' }),
    ]);
    // The call is recorded first; the refusal under its key does not fail it.
    expect(outcomes(acceptedFirst)).toEqual(['queued', 'refused']);
    expect(acceptedFirst[1]).not.toHaveProperty('record');
    const [stored] = await recordsWithKey(other);
    expect(stored).toMatchObject({ status: 'queued', tool: 'generate_contract' });
  });

  it('a finished (failed) job left under the id of a call still queued is replaced, as enqueueToolCall does', async () => {
    // A prefix of its own: the worker that fails the job sees no other test's jobs.
    const own = `${prefix}finished:`;
    const ownQueues = new BrokerQueues({ connection: redis, prefix: own, retry: { toolCallAttempts: 1 } });
    const ownIntake = new ToolCallIntake({
      repository,
      queues: ownQueues,
      redis,
      prefix: own,
      validator,
      writeBackPolicy,
    });
    const r = request();
    const recorded = await repository.create('acme', 'local', r);
    await ownQueues.enqueueToolCall({ callId: recorded.record.id, caller: 'acme' });
    const worker = new Worker(
      toolCallQueueName('acme'),
      async () => {
        throw new Error('an earlier record with this id failed');
      },
      { connection: redis.duplicate(), prefix: bullPrefix(own) },
    );
    const queue = ownQueues.toolCallQueue('acme');
    try {
      await vi.waitFor(async () => expect(await queue.getJobState(recorded.record.id)).toBe('failed'), {
        timeout: 10_000,
      });
      await worker.close();
      const result = await ownIntake.acceptMany(acme, [r, request()]);
      expect(outcomes(result)).toEqual(['duplicate', 'queued']);
      expect(await queue.getJobState(recorded.record.id)).toBe('waiting');
      expect((await queue.getJobs(['waiting'])).filter((j) => j.data.callId === recorded.record.id)).toHaveLength(1);
    } finally {
      await worker.close();
      await ownQueues.close();
    }
  });

  it('a key already recorded is a duplicate of that call (queued once), and one already used with other arguments is refused', async () => {
    const recorded = request();
    const first = await intake.accept(acme, recorded);
    expect(first.outcome).toBe('queued');
    const reusedFor = request();
    await intake.accept(acme, reusedFor);
    const group = [request(), recorded, { ...reusedFor, arguments: { opportunity_id: 'changed' } }, request()];
    const result = await intake.acceptMany(acme, group);
    expect(outcomes(result)).toEqual(['queued', 'duplicate', 'refused', 'queued']);
    expect(result[1]).toMatchObject({ record: { id: idOf(recorded), status: 'queued' } });
    expect(result[2]).toMatchObject({ reason: { code: 'BROKER_IDEMPOTENCY_KEY_REUSED' } });
    expect(await jobsOf(idOf(recorded))).toHaveLength(1);
    expect(await recordsWithKey(recorded.idempotencyKey)).toHaveLength(1);
  });

  it('a mixed group: refusals are recorded and written back as accept does, a key-less one records nothing, the rest are queued', async () => {
    const notAllowed = request({ tool: 'drop_tables', writeBack: [{ type: 'salesforce-result', org: 'acme-org' }] });
    const mapped = request({ tool: '' });
    const keyless = request({ idempotencyKey: '' });
    const unknownTool = request({ tool: 'generate_contract' });
    const group = [request(), notAllowed, mapped, keyless, unknownTool];
    const result = await intake.acceptMany(acme, group, [
      {},
      {},
      { refusal: { code: 'EVENT_TOOL_MISSING', message: 'Tool__c is empty.' } },
      {},
      {},
    ]);
    expect(outcomes(result)).toEqual(['queued', 'refused', 'refused', 'refused', 'queued']);
    expect(result[1]).toMatchObject({
      reason: { code: 'BROKER_TOOL_NOT_ALLOWED', status: 403 },
      record: { status: 'failed', attempts: 0 },
    });
    expect(result[2]).toMatchObject({
      reason: { code: 'BROKER_VALIDATION_FAILED' },
      record: { status: 'failed', error: { code: 'EVENT_TOOL_MISSING' } },
    });
    expect(result[3]).toMatchObject({ reason: { code: 'BROKER_IDEMPOTENCY_KEY_MISSING' } });
    expect(result[3]).not.toHaveProperty('record');
    const writeBacks = await queues.writeBackQueue().getJobs(['waiting', 'delayed', 'prioritized']);
    expect(writeBacks.filter((j) => j.data.callId === idOf(notAllowed))).toHaveLength(1);
    expect(await jobsOf(idOf(notAllowed))).toHaveLength(0);
  });

  it('a transient failure of one request (its tool list unreachable) fails that one only: nothing recorded for it, the rest queued', async () => {
    const flaky = request({ tool: 'flaky_tool' });
    const group = [request(), flaky, request()];
    const result = await intake.acceptMany(acme, group);
    expect(outcomes(result)).toEqual(['queued', 'failed', 'queued']);
    expect(result[1]).toMatchObject({ error: { message: 'tool list unreachable' } });
    expect(await recordsWithKey(flaky.idempotencyKey)).toHaveLength(0);
  });

  it('a key whose lock another live request holds is BROKER_IDEMPOTENCY_IN_PROGRESS for that one, and the lock is left to its holder', async () => {
    const held = request();
    const lockKey = `${prefix}idem:${idOf(held)}`;
    await redis.set(lockKey, 'another-replica:token', 'PX', 10_000);
    try {
      const result = await intake.acceptMany(acme, [request(), held, request()]);
      expect(outcomes(result)).toEqual(['queued', 'failed', 'queued']);
      expect(result[1]).toMatchObject({ error: { code: 'BROKER_IDEMPOTENCY_IN_PROGRESS', status: 409 } });
      expect(await redis.get(lockKey)).toBe('another-replica:token');
      expect(await recordsWithKey(held.idempotencyKey)).toHaveLength(0);
    } finally {
      await redis.del(lockKey);
    }
    // The group released its own locks: every key of it can be taken again.
    expect(await redis.keys(`${prefix}idem:*`)).toEqual([]);
  });

  it('a job already present for a recorded call is not added twice', async () => {
    const r = request();
    const recorded = await repository.create('acme', 'local', r);
    await queues.enqueueToolCall({ callId: recorded.record.id, caller: 'acme' });
    const result = await intake.acceptMany(acme, [r, request()]);
    expect(outcomes(result)).toEqual(['duplicate', 'queued']);
    expect(await jobsOf(recorded.record.id)).toHaveLength(1);
  });

  it('the store failing mid-group: what was not recorded fails (not acknowledged), and the redelivery records and queues each call once', async () => {
    const group = Array.from({ length: 6 }, () => request());
    const down = [group[1], group[4]].map((r) => idOf(r as ToolCallRequest));
    // The batch's writes land but its answer is lost; then two records cannot be read or written at all.
    faulty.faults.loseBatchResponses = true;
    for (const id of down) faulty.faults.failCreateOf.add(id);
    let result: ManyAcceptance[];
    try {
      result = await intake.acceptMany(acme, group);
    } finally {
      faulty.faults.loseBatchResponses = false;
      faulty.faults.failCreateOf.clear();
    }
    // Each record the lost batch wrote is found by its own create: the same call, queued; the two the
    // store refused are failed, although the batch wrote them (half-written: a record without a job).
    expect(outcomes(result)).toEqual(['duplicate', 'failed', 'duplicate', 'duplicate', 'failed', 'duplicate']);
    expect(result[1]).toMatchObject({ error: { code: 503 } });
    for (const [i, r] of group.entries()) {
      expect(await jobsOf(idOf(r))).toHaveLength(i === 1 || i === 4 ? 0 : 1);
    }
    // The redelivery repairs them: each call recorded once, queued once.
    const redelivered = await intake.acceptMany(acme, group);
    expect(outcomes(redelivered)).toEqual(group.map(() => 'duplicate'));
    for (const r of group) {
      expect(await recordsWithKey(r.idempotencyKey)).toHaveLength(1);
      expect(await jobsOf(idOf(r))).toHaveLength(1);
    }
  });

  it('a batch refused as a whole (an atomic batch one of whose records exists) falls back to one create per record', async () => {
    const recorded = request();
    await intake.accept(acme, recorded);
    const group = [request(), recorded, request()];
    const before = { ...faulty.counts };
    faulty.faults.refuseBatches = true;
    let result: ManyAcceptance[];
    try {
      result = await intake.acceptMany(acme, group);
    } finally {
      faulty.faults.refuseBatches = false;
    }
    expect(outcomes(result)).toEqual(['queued', 'duplicate', 'queued']);
    expect(faulty.counts.create - before.create).toBe(3);
    for (const r of group) expect(await jobsOf(idOf(r))).toHaveLength(1);
  });

  it('records written but not queued (Redis gone after the store write) fail, and the redelivery queues each once', async () => {
    const dead = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const deadQueues = new BrokerQueues({ connection: dead, prefix, onError: () => {} });
    // Locks in the live Redis, jobs in the dead one: the step after the record fails.
    const halfway = new ToolCallIntake({ repository, queues: deadQueues, redis, prefix, validator, writeBackPolicy });
    const group = Array.from({ length: 4 }, () => request());
    try {
      const result = await halfway.acceptMany(acme, group);
      expect(outcomes(result)).toEqual(['failed', 'failed', 'failed', 'failed']);
      for (const r of group) expect(await recordsWithKey(r.idempotencyKey)).toHaveLength(1);
    } finally {
      await deadQueues.close().catch(() => {});
      dead.disconnect();
    }
    const redelivered = await intake.acceptMany(acme, group);
    expect(outcomes(redelivered)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
    for (const r of group) expect(await jobsOf(idOf(r))).toHaveLength(1);
  });

  it('Redis down: every request of the group fails and nothing is recorded', async () => {
    const dead = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const deadQueues = new BrokerQueues({ connection: dead, prefix, onError: () => {} });
    const offline = new ToolCallIntake({
      repository,
      queues: deadQueues,
      redis: dead,
      prefix,
      validator,
      writeBackPolicy,
    });
    const group = Array.from({ length: 3 }, () => request());
    try {
      const result = await offline.acceptMany(acme, group);
      expect(outcomes(result)).toEqual(['failed', 'failed', 'failed']);
      for (const r of group) expect(await recordsWithKey(r.idempotencyKey)).toHaveLength(0);
    } finally {
      await deadQueues.close().catch(() => {});
      dead.disconnect();
    }
  });
});

describe('AcceptCoalescer', () => {
  it('concurrent accepts go in groups of at most maxBatch (the first alone), each answered as accept would', async () => {
    const reported: [string, number][] = [];
    const coalescer = new AcceptCoalescer({
      intake,
      maxBatch: 20,
      onGroup: (caller, size) => reported.push([caller, size]),
    });
    const spy = vi.spyOn(intake, 'acceptMany');
    try {
      const requests = Array.from({ length: 61 }, () => request());
      const answers = await Promise.all(requests.map((r) => coalescer.accept(acme, r)));
      expect(answers.map((a) => a.outcome)).toEqual(requests.map(() => 'queued'));
      answers.forEach((a, i) => {
        expect(a).toMatchObject({ record: { id: idOf(requests[i] as ToolCallRequest) } });
      });
      const sizes = spy.mock.calls.map(([, group]) => group.length);
      expect(sizes.every((n) => n <= 20)).toBe(true);
      // The first went alone through accept; the other 60 in groups.
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
      // Every group is reported (the metric's source), the lone first one included.
      expect(reported).toEqual([['acme', 1], ...sizes.map((n): [string, number] => ['acme', n])]);
    } finally {
      spy.mockRestore();
    }
  });

  it("a request that fails in a group rejects that caller's accept only (its event is not acknowledged)", async () => {
    const coalescer = new AcceptCoalescer({ intake, maxBatch: 10 });
    const requests = [request(), request(), request({ tool: 'flaky_tool' }), request()];
    const settled = await Promise.allSettled(requests.map((r) => coalescer.accept(acme, r)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(settled[2]).toMatchObject({ reason: { message: 'tool list unreachable' } });
  });

  it('maxBatch 1 is accept, one request at a time', async () => {
    const coalescer = new AcceptCoalescer({ intake, maxBatch: 1 });
    const spy = vi.spyOn(intake, 'acceptMany');
    try {
      const answers = await Promise.all([request(), request(), request()].map((r) => coalescer.accept(acme, r)));
      expect(answers.map((a) => a.outcome)).toEqual(['queued', 'queued', 'queued']);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

import { randomUUID } from 'node:crypto';
import type { ToolCallRequest } from '@mcp-broker/contracts';
import { createStore, type Store } from '@mcp-broker/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetter, flagCancel, start, succeed } from './tool-call-lifecycle.ts';
import { ToolCallRepository } from './tool-call-repository.ts';

let store: Store;
let repo: ToolCallRepository;
beforeAll(async () => {
  store = await createStore({ databaseId: `tc-${randomUUID()}` });
  repo = new ToolCallRepository({ store });
});
afterAll(async () => {
  await store.close();
});

const request = (over: Partial<ToolCallRequest> = {}): ToolCallRequest => ({
  tool: 'query_customer_data',
  arguments: { customer_id: 'cus-000001' },
  idempotencyKey: randomUUID(),
  source: { kind: 'api' },
  writeBack: [{ type: 'http-callback', url: 'https://hooks.example.com/cb' }],
  correlation: { requestId: 'r-1' },
  ...over,
});

/** Records `request` as `caller`'s call to the `local` endpoint. */
const create = (req: ToolCallRequest, caller = 'caller-a') => repo.create(caller, 'local', req);

describe('tool-call repository', () => {
  it('creates a queued record with one pending delivery per write-back target', async () => {
    const outcome = await create(request());
    expect(outcome.kind).toBe('created');
    expect(outcome.record).toMatchObject({ status: 'queued', attempts: 0, deliveries: [{ status: 'pending' }] });
    expect(outcome.record.id).toMatch(/^tc_[0-9a-f]{40}$/);
    expect(Object.keys(outcome.record).some((k) => k.startsWith('_'))).toBe(false);
  });

  it('the same idempotency key with the same body returns the existing record; a different body is a conflict', async () => {
    const key = randomUUID();
    const first = await create(request({ idempotencyKey: key }));
    // Key order in the arguments does not matter.
    const again = await create(
      request({ idempotencyKey: key, arguments: { customer_id: 'cus-000001' }, correlation: { requestId: 'r-2' } }),
    );
    expect(again).toMatchObject({ kind: 'existing', record: { id: first.record.id } });
    const other = await create(request({ idempotencyKey: key, arguments: { customer_id: 'cus-000002' } }));
    expect(other.kind).toBe('conflict');
  });

  it('keys are scoped per caller', async () => {
    const key = randomUUID();
    const a = await create(request({ idempotencyKey: key }));
    const b = await create(request({ idempotencyKey: key }), 'caller-b');
    expect(b.kind).toBe('created');
    expect(b.record.id).not.toBe(a.record.id);
  });

  it('concurrent updates never lose a write (ETag checks)', async () => {
    const { record } = await create(request());
    await Promise.all(
      Array.from({ length: 10 }, () =>
        repo.apply(record.caller, record.id, (current) => ({ ...current, attempts: current.attempts + 1 })),
      ),
    );
    expect((await repo.get(record.caller, record.id))?.attempts).toBe(10);
  });

  it('an update from a stale basis still applies to the latest record (no lost write)', async () => {
    const { record } = await create(request());
    const running = await repo.apply(record.caller, record.id, start, record);
    expect(running).toMatchObject({ changed: true, record: { status: 'running' } });
    // Someone else (a cancel) changes the record after the worker's last write.
    await repo.apply(record.caller, record.id, flagCancel);
    const done = await repo.apply(record.caller, record.id, (r, now) => succeed(r, now, {}), running?.record);
    expect(done?.record).toMatchObject({ status: 'succeeded', cancelRequested: true, attempts: 1 });
    expect(done?.record.history.map((h) => h.status)).toEqual(['queued', 'running', 'succeeded']);
  });

  it("a record handed on with its ETag (a new call's job) is written from without a read", async () => {
    const { record } = await create(request());
    const etag = repo.etagOf(record);
    expect(etag).toBeTruthy();
    // Through Redis and into another process: plain JSON, another repository.
    const worker = new ToolCallRepository({ store });
    const carried = JSON.parse(JSON.stringify(record)) as typeof record;
    // Marked, so the stored record shows whether the write started from the carried copy or a read.
    const basis = worker.adopt({ ...carried, correlation: { requestId: 'from-the-job' } }, etag ?? '');
    const running = await worker.apply(record.caller, record.id, start, basis);
    expect(running?.record).toMatchObject({
      status: 'running',
      attempts: 1,
      correlation: { requestId: 'from-the-job' },
    });
  });

  it('a cancel flagged after the job was queued wins over the carried record (412, then a read)', async () => {
    const { record } = await create(request());
    const carried = JSON.parse(JSON.stringify(record)) as typeof record;
    const etag = repo.etagOf(record) ?? '';
    await repo.apply(record.caller, record.id, flagCancel, record);
    const worker = new ToolCallRepository({ store });
    const running = await worker.apply(record.caller, record.id, start, worker.adopt(carried, etag));
    expect(running?.record).toMatchObject({ status: 'running', attempts: 1, cancelRequested: true });
  });

  it('a carried record that is no longer stored is no record (undefined), not an error', async () => {
    const { record } = await create(request());
    const etag = repo.etagOf(record) ?? '';
    await store.container('toolCalls').item(record.id, record.caller).delete();
    expect(await repo.apply(record.caller, record.id, start, repo.adopt(record, etag))).toBeUndefined();
  });

  it('a basis for another record is ignored', async () => {
    const a = (await create(request())).record;
    const b = (await create(request())).record;
    const updated = await repo.apply(b.caller, b.id, (current) => ({ ...current, attempts: 7 }), a);
    expect(updated?.record).toMatchObject({ id: b.id, attempts: 7, tool: b.tool });
    expect((await repo.get(a.caller, a.id))?.attempts).toBe(0);
  });

  it('transitions append to the history', async () => {
    const { record } = await create(request());
    await repo.apply(record.caller, record.id, start);
    const done = await repo.apply(record.caller, record.id, (r, now) => succeed(r, now, { ok: true }));
    expect(done?.record.history.map((h) => h.status)).toEqual(['queued', 'running', 'succeeded']);
  });

  it('a caller lists only its own calls, paged, with filters', async () => {
    const caller = `lister-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 5; i++)
      await create(request({ tool: i % 2 ? 'analyze_sales_data' : 'query_customer_data' }), caller);
    await create(request(), 'someone-else');
    const first = await repo.list(caller, { limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.items.every((r) => r.caller === caller)).toBe(true);
    const second = await repo.list(caller, { limit: 3, continuation: first.continuation! });
    expect(second.items).toHaveLength(2);
    const filtered = await repo.list(caller, { limit: 10, tool: 'analyze_sales_data' });
    expect(filtered.items).toHaveLength(2);
  });

  it('lists dead letters and finds a record by id', async () => {
    const { record } = await create(request());
    await repo.apply(record.caller, record.id, (r, now) =>
      deadLetter(r, now, { code: 'UPSTREAM_UNAVAILABLE', message: 'gave up' }),
    );
    expect((await repo.deadLetters(50)).map((r) => r.id)).toContain(record.id);
    expect((await repo.findById(record.id))?.caller).toBe('caller-a');
  });

  it('finds the records with work left that nobody wrote since a time, across callers', async () => {
    const caller = `sweep-${randomUUID().slice(0, 8)}`;
    const queued = (await create(request(), caller)).record;
    const other = (await create(request({ writeBack: [] }), `${caller}-b`)).record;
    const doneUndelivered = (await create(request(), caller)).record;
    await repo.apply(caller, doneUndelivered.id, (r, now) => succeed(r, now, {}));
    const doneDelivered = (await create(request(), caller)).record;
    await repo.apply(caller, doneDelivered.id, (current) => ({
      ...current,
      status: 'succeeded',
      deliveries: current.deliveries.map((d) => ({ ...d, status: 'delivered' as const })),
    }));
    const found = async (before: string) => {
      const ids: string[] = [];
      for await (const page of repo.withWorkLeft(before, 2)) ids.push(...page.map((r) => r.id));
      return ids;
    };
    const later = new Date(Date.now() + 60_000).toISOString();
    const ids = await found(later);
    expect(ids).toEqual(expect.arrayContaining([queued.id, other.id, doneUndelivered.id]));
    expect(ids).not.toContain(doneDelivered.id);
    // Written after the cut-off: left to their jobs.
    expect(await found(new Date(Date.parse(queued.createdAt) - 1000).toISOString())).not.toContain(queued.id);
  });
});

import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Identity } from '@mcp-broker/contracts';
import { createStore, type Store } from '@mcp-broker/store';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditLog } from './audit-log.ts';

let store: Store;
beforeAll(async () => {
  store = await createStore({ databaseId: `audit-${randomUUID()}` });
});
afterAll(async () => {
  await store.close();
});

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function identity(subject: string): Identity {
  return {
    subject,
    clientAppId: `${subject}-client`,
    issuer: 'https://issuer.test',
    tokenKind: 'app',
    permissions: [],
  };
}

function entry(subject: string, requestId: string = randomUUID()): AuditEntry {
  return {
    identity: identity(subject),
    requestId,
    transport: 'streamable-http',
    tool: 'test_echo',
    argumentsSha256: 'a'.repeat(64),
    outcome: 'success',
    durationMs: 1.5,
  };
}

async function stored(subject: string): Promise<Record<string, unknown>[]> {
  const { resources } = await store
    .container('audit')
    .items.query({ query: 'SELECT * FROM c WHERE c.subject = @s', parameters: [{ name: '@s', value: subject }] })
    .fetchAll();
  return resources;
}

async function eventually(subject: string, count: number, withinMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if ((await stored(subject)).length >= count) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`${subject}: fewer than ${count} audit records after ${withinMs} ms`);
}

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('AuditLog buffering', () => {
  it('writes every buffered record, of every partition, on flush, in batches Cosmos accepts', async () => {
    const { logger, lines } = capturingLogger();
    const audit = new AuditLog({ store, logger, batchSize: 50, flushIntervalMs: 60_000 });
    const subjects = [`s-${randomUUID()}`, `s-${randomUUID()}`, `s-${randomUUID()}`];
    const requestIds = new Map<string, string[]>();
    for (let i = 0; i < 250; i++) {
      const subject = subjects[i % 3] as string;
      const requestId = `req-${i}`;
      requestIds.set(subject, [...(requestIds.get(subject) ?? []), requestId]);
      // 250 records over 3 partitions (83-84 each): a batch of 50 each while recording, the rest on flush.
      audit.record(entry(subject, requestId));
    }
    await audit.flush();
    expect(audit.buffered).toBe(0);
    for (const subject of subjects) {
      const records = await stored(subject);
      expect(records.map((r) => r.requestId).sort()).toEqual([...(requestIds.get(subject) ?? [])].sort());
      expect(records[0]).toMatchObject({
        subject,
        clientAppId: `${subject}-client`,
        outcome: 'success',
        tool: 'test_echo',
      });
    }
    // Written as batches, not through the one-at-a-time fallback.
    expect(lines.filter((l) => String(l.msg).startsWith('audit'))).toEqual([]);
  });

  it('keeps records buffered until a bound is reached: nothing is written early', async () => {
    const audit = new AuditLog({ store, logger: silent, batchSize: 10, flushIntervalMs: 60_000 });
    const subject = `s-${randomUUID()}`;
    for (let i = 0; i < 9; i++) audit.record(entry(subject));
    await sleep(300);
    expect(await stored(subject)).toHaveLength(0);
    expect(audit.buffered).toBe(9);
    await audit.flush();
    expect(await stored(subject)).toHaveLength(9);
  });

  it('starts a partition’s write as soon as it holds batchSize records', async () => {
    const audit = new AuditLog({ store, logger: silent, batchSize: 10, flushIntervalMs: 60_000 });
    const subject = `s-${randomUUID()}`;
    for (let i = 0; i < 10; i++) audit.record(entry(subject));
    expect(audit.buffered).toBe(0);
    await eventually(subject, 10, 10_000);
    await audit.flush();
  });

  it('starts every partition’s write once the buffers hold maxBufferedRecords in all', async () => {
    const audit = new AuditLog({
      store,
      logger: silent,
      batchSize: 100,
      flushIntervalMs: 60_000,
      maxBufferedRecords: 6,
    });
    const a = `s-${randomUUID()}`;
    const b = `s-${randomUUID()}`;
    for (let i = 0; i < 3; i++) audit.record(entry(a));
    for (let i = 0; i < 2; i++) audit.record(entry(b));
    expect(audit.buffered).toBe(5);
    audit.record(entry(b));
    expect(audit.buffered).toBe(0);
    await eventually(a, 3, 10_000);
    await eventually(b, 3, 10_000);
    await audit.flush();
  });

  it('writes a record no later than flushIntervalMs after it was buffered, without a flush', async () => {
    const audit = new AuditLog({ store, logger: silent, batchSize: 100, flushIntervalMs: 200 });
    const subject = `s-${randomUUID()}`;
    audit.record(entry(subject));
    audit.record(entry(subject));
    expect(await stored(subject)).toHaveLength(0);
    const tookMs = await eventually(subject, 2, 10_000);
    expect(tookMs).toBeGreaterThanOrEqual(100);
    expect(audit.buffered).toBe(0);
  });

  it('logs every record it could not write, with its request id, when Cosmos is down; flush still ends', async () => {
    const down = await createStore({ databaseId: `audit-down-${randomUUID()}` });
    await down.close();
    const { logger, lines } = capturingLogger();
    const audit = new AuditLog({ store: down, logger, batchSize: 100, flushIntervalMs: 60_000 });
    const subject = `s-${randomUUID()}`;
    audit.record(entry(subject, 'down-1'));
    audit.record(entry(subject, 'down-2'));
    await audit.flush();
    const failed = lines.filter((l) => l.msg === 'audit write failed');
    expect(failed.map((l) => l.requestId).sort()).toEqual(['down-1', 'down-2']);
    expect(lines.some((l) => l.msg === 'audit batch failed; writing its records one at a time')).toBe(true);
  }, 120_000);
});

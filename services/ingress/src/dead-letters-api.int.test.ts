import { randomUUID } from 'node:crypto';
import { lifecycle } from '@mcp-broker/broker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type IngressUnderTest, ingressUnderTest } from '../test-support/ingress-under-test.ts';

let t: IngressUnderTest;
const admin = () => basic('admin', 'admin-password');

async function deadLetter(caller: string): Promise<string> {
  const { record } = await t.repository.create(caller, 'local', {
    tool: 'echo',
    arguments: {},
    idempotencyKey: randomUUID(),
    source: { kind: 'api' },
    writeBack: [],
    correlation: { requestId: 'seed' },
  });
  await t.repository.apply(caller, record.id, (current, now) =>
    lifecycle.deadLetter(current, now, { code: 'UPSTREAM_UNAVAILABLE', message: 'gave up' }),
  );
  return record.id;
}

const apexIds: string[] = [];
const otherIds: string[] = [];

beforeAll(async () => {
  t = await ingressUnderTest();
  // More than one page of the largest page size (200), as the fault run had (215).
  for (let i = 0; i < 215; i++) apexIds.push(await deadLetter('apex'));
  for (let i = 0; i < 5; i++) otherIds.push(await deadLetter('other'));
}, 120_000);
afterAll(async () => t?.close());

describe('GET /v1/dead-letters', () => {
  it('pages through every dead letter with nextPageToken, none twice', async () => {
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/dead-letters?limit=200${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
        headers: { authorization: admin() },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { items: Array<{ id: string }>; nextPageToken?: string };
      seen.push(...body.items.map((i) => i.id));
      pageToken = body.nextPageToken;
      pages++;
    } while (pageToken && pages < 10);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual([...apexIds, ...otherIds].sort());
  });

  it('filters by caller, and refuses a token issued for another filter or forged', async () => {
    const first = await t.app.inject({
      method: 'GET',
      url: '/v1/dead-letters?caller=other&limit=2',
      headers: { authorization: admin() },
    });
    const body = first.json() as { items: Array<{ caller: string }>; nextPageToken: string };
    expect(body.items.map((i) => i.caller)).toEqual(['other', 'other']);
    expect(body.nextPageToken).toBeTruthy();
    for (const url of [
      `/v1/dead-letters?caller=apex&pageToken=${encodeURIComponent(body.nextPageToken)}`,
      '/v1/dead-letters?pageToken=forged',
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: admin() } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.fields[0].field).toBe('querystring.pageToken');
    }
  });

  it('is for admins only', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/dead-letters',
      headers: { authorization: basic('apex', 'apex-password') },
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('POST /v1/dead-letters/replay', () => {
  it("replays all of one caller's dead letters in bounded steps, each once, and a repeat replays nothing", async () => {
    const replay = (body: Record<string, unknown>) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/dead-letters/replay',
        headers: { authorization: admin(), 'content-type': 'application/json' },
        payload: body,
      });
    const replayed: string[] = [];
    let res = await replay({ caller: 'apex', limit: 100 });
    expect(res.statusCode).toBe(200);
    let outcome = res.json() as { replayed: number; replayedIds: string[]; more: boolean; before: string };
    expect(outcome.replayed).toBe(100);
    expect(outcome.more).toBe(true);
    replayed.push(...outcome.replayedIds);
    const before = outcome.before;
    for (let i = 0; i < 5 && outcome.more; i++) {
      res = await replay({ caller: 'apex', limit: 100, before });
      outcome = res.json();
      replayed.push(...outcome.replayedIds);
    }
    expect(outcome.more).toBe(false);
    expect(replayed.sort()).toEqual([...apexIds].sort());
    // Each is queued again as a new generation; the other caller's are untouched.
    const record = await t.repository.get('apex', apexIds[0] as string);
    expect(record).toMatchObject({ status: 'queued', replays: 1 });
    expect(await t.queues.toolCallQueue('apex').getJobCounts('waiting')).toMatchObject({ waiting: 215 });
    expect((await t.repository.get('other', otherIds[0] as string))?.status).toBe('failed');

    const again = (await replay({ caller: 'apex', before })).json();
    expect(again).toMatchObject({ replayed: 0, more: false });
    // 215 records replayed and queued one by one: on a loaded CI machine that can outlast the package's 30 s.
  }, 120_000);

  it('is for admins only', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/dead-letters/replay',
      headers: { authorization: basic('apex', 'apex-password'), 'content-type': 'application/json' },
      payload: { caller: 'other' },
    });
    expect(res.statusCode).toBe(403);
    expect((await t.repository.get('other', otherIds[0] as string))?.status).toBe('failed');
  });
});

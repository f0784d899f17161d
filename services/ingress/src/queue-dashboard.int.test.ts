import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type IngressUnderTest, ingressUnderTest } from '../test-support/ingress-under-test.ts';

// Chromium from Debian (`apt-get install -y chromium`, done by .ci/run); playwright-core drives it
// without a browser download of its own.
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let t: IngressUnderTest;
let url: string;
const admin = basic('admin', 'admin-password');
const operator = basic('operator', 'operator-password');
const apex = basic('apex', 'apex-password');

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  readOnlyMode: boolean;
  allowRetries: boolean;
}

beforeAll(async () => {
  t = await ingressUnderTest({ queueDashboard: true });
  url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  // A waiting job, so the board has a depth to show.
  await t.queues.toolCallQueue('apex').add('tool-call', { caller: 'apex', callId: 'tc_dashboard' } as never, {
    jobId: 'tc_dashboard',
  });
});
afterAll(async () => {
  await t?.queues.toolCallQueue('apex').obliterate({ force: true });
  await t?.close();
});

describe('GET /admin/queues: who may see it', () => {
  it('refuses a visit without credentials with 401 and a Basic challenge (the browser login prompt)', async () => {
    const res = await t.app.inject({ url: '/admin/queues' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect(res.json().error).toMatchObject({ code: 'BROKER_TOKEN_MISSING', requestId: expect.any(String) });
  });

  it('refuses a wrong password with 401, the API and static files too', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
      const res = await t.app.inject({ url: path, headers: { authorization: basic('admin', 'wrong') } });
      expect(res.statusCode, path).toBe(401);
      expect(res.json().error.code).toBe('BROKER_CREDENTIALS_INVALID');
    }
  });

  it('refuses a caller that is not an admin with 403 BROKER_ADMIN_REQUIRED', async () => {
    const res = await t.app.inject({ url: '/admin/queues/api/queues', headers: { authorization: apex } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({
      code: 'BROKER_ADMIN_REQUIRED',
      message: 'Caller "apex" is not an admin.',
    });
  });
});

describe('/admin/queues: read-only unless the admin may act', () => {
  it("lists every caller's queue and the write-backs, read-only for an admin without queueActions", async () => {
    const res = await t.app.inject({ url: '/admin/queues/api/queues', headers: { authorization: admin } });
    expect(res.statusCode).toBe(200);
    const queues = (res.json() as { queues: BoardQueue[] }).queues;
    expect(queues.map((q) => q.name).sort()).toEqual([
      'tool-calls.admin',
      'tool-calls.apex',
      'tool-calls.operator',
      'write-backs',
    ]);
    expect(queues.find((q) => q.name === 'tool-calls.apex')?.counts.waiting).toBe(1);
    for (const q of queues) expect(q).toMatchObject({ readOnlyMode: true, allowRetries: false });
  });

  it('refuses every action of an admin without queueActions with 403, and nothing changes', async () => {
    for (const [method, path] of [
      ['PUT', '/admin/queues/api/queues/tool-calls.apex/pause'],
      ['PUT', '/admin/queues/api/queues/tool-calls.apex/empty'],
      ['PUT', '/admin/queues/api/queues/tool-calls.apex/tc_dashboard/promote'],
      ['POST', '/admin/queues/api/queues/tool-calls.apex/add'],
      ['PATCH', '/admin/queues/api/queues/tool-calls.apex/tc_dashboard/update-data'],
    ] as const) {
      const res = await t.app.inject({ method, url: path, headers: { authorization: admin } });
      expect(res.statusCode, `${method} ${path}`).toBe(403);
      expect(res.json().error.message).toContain('not act on it');
    }
    expect(await t.queues.toolCallQueue('apex').isPaused()).toBe(false);
    expect(await t.queues.toolCallQueue('apex').getWaitingCount()).toBe(1);
  });

  it('lets an admin with queueActions act: the board is writable and pause reaches the queue', async () => {
    const list = await t.app.inject({ url: '/admin/queues/api/queues', headers: { authorization: operator } });
    for (const q of (list.json() as { queues: BoardQueue[] }).queues) expect(q.readOnlyMode).toBe(false);
    const pause = await t.app.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/tool-calls.apex/pause',
      headers: { authorization: operator },
    });
    expect(pause.statusCode).toBe(200);
    expect(await t.queues.toolCallQueue('apex').isPaused()).toBe(true);
    await t.queues.toolCallQueue('apex').resume();
  });
});

describe.skipIf(!chromiumPath)('/admin/queues in a real headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => browser?.close());

  it('loads the board and shows the caller queues with their depth for an admin', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: 'admin-password' } });
    const page = await context.newPage();
    const response = await page.goto(`${url}/admin/queues`);
    expect(response?.status()).toBe(200);
    await page.getByText('tool-calls.apex').first().waitFor({ timeout: 20_000 });
    for (const name of ['tool-calls.admin', 'tool-calls.apex', 'tool-calls.operator', 'write-backs'])
      expect(await page.getByText(name, { exact: true }).first().isVisible(), name).toBe(true);
    expect(await page.title()).toContain('mcp-broker queues');
    await context.close();
  }, 60_000);

  it('refuses an unauthenticated visit (401) and a non-admin caller (403)', async () => {
    const anonymous = await browser.newContext();
    const visit = await anonymous.newPage();
    // Headless Chromium answers a Basic challenge it has no credentials for by failing the
    // navigation (net::ERR_INVALID_AUTH_CREDENTIALS): the refusal is read off the response.
    const [refused, navigation] = await Promise.all([
      visit.waitForResponse((r) => new URL(r.url()).pathname === '/admin/queues'),
      visit.goto(`${url}/admin/queues`).catch((err: Error) => err),
    ]);
    expect(refused.status()).toBe(401);
    expect(refused.headers()['www-authenticate']).toMatch(/^Basic /);
    expect(navigation).toBeInstanceOf(Error);
    expect(await visit.getByText('tool-calls.apex').count()).toBe(0);
    await anonymous.close();
    const nonAdmin = await browser.newContext({ httpCredentials: { username: 'apex', password: 'apex-password' } });
    const page = await nonAdmin.newPage();
    const forbidden = await page.goto(`${url}/admin/queues`);
    expect(forbidden?.status()).toBe(403);
    expect(await page.getByText('BROKER_ADMIN_REQUIRED').count()).toBeGreaterThan(0);
    await nonAdmin.close();
  }, 60_000);
});

it.skipIf(!!chromiumPath)(
  'skips the browser tests: no Chromium at /usr/bin/chromium (apt-get install -y chromium)',
  () => {
    console.warn('queue dashboard browser tests skipped: Chromium is not installed (apt-get install -y chromium)');
  },
);

import type { Connection } from 'jsforce';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SalesforceSandbox, startSalesforceSandbox } from './salesforce-sandbox.ts';

let sandbox: SalesforceSandbox;
let conn: Connection;
let token: string;
let clockOffsetMs = 0;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({
    now: () => new Date(Date.now() + clockOffsetMs),
    objects: {
      Account: {
        fields: {
          Name: { length: 255, required: true, label: 'Account Name' },
          Industry: { type: 'picklist', length: 255 },
          Rating__c: { type: 'int' },
          Last_Enriched__c: { type: 'datetime' },
        },
      },
    },
  });
  for (let i = 0; i < 450; i++) {
    sandbox.insertRecord('Account', {
      Name: `Account ${String(i).padStart(3, '0')}`,
      Industry: i % 3 === 0 ? 'Energy' : 'Retail',
      Rating__c: i % 10,
      ...(i % 2 === 0 ? { Last_Enriched__c: new Date(Date.now() - (i % 20) * 86_400_000).toISOString() } : {}),
    });
  }
  conn = new jsforce.Connection({
    oauth2: { loginUrl: sandbox.loginUrl, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret },
    version: sandbox.apiVersion,
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  token = conn.accessToken as string;
});
afterAll(async () => {
  await sandbox?.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${sandbox.instanceUrl}${path}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & Array<Record<string, unknown>> };
}
const query = (soql: string, headers?: Record<string, string>) =>
  get(`/services/data/v${sandbox.apiVersion}/query?q=${encodeURIComponent(soql)}`, headers);

describe('sandbox REST query: errors as Salesforce answers them', () => {
  it('answers MALFORMED_QUERY with the caret, row and column of a misspelt keyword', async () => {
    const { status, body } = await query('SELECT Id FORM Account');
    expect(status).toBe(400);
    expect(body[0]?.errorCode).toBe('MALFORMED_QUERY');
    expect(body[0]?.message).toBe(
      '\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: FORM',
    );
  });

  it('answers INVALID_FIELD naming the column and the entity', async () => {
    const { status, body } = await query('SELECT Id, Nope__c FROM Account');
    expect(status).toBe(400);
    expect(body[0]?.errorCode).toBe('INVALID_FIELD');
    expect(body[0]?.message).toContain("No such column 'Nope__c' on entity 'Account'.");
    expect(body[0]?.message).toContain('ERROR at Row:1:Column:12');
  });

  it('answers INVALID_TYPE for an object the org does not have', async () => {
    const { body } = await query('SELECT Id FROM Nothing__c');
    expect(body[0]).toMatchObject({ errorCode: 'INVALID_TYPE' });
    expect(body[0]?.message).toContain("sObject type 'Nothing__c' is not supported.");
  });

  it('answers MALFORMED_QUERY for an empty q, an unterminated string and unsupported syntax', async () => {
    expect((await get(`/services/data/v${sandbox.apiVersion}/query?q=`)).body[0]?.errorCode).toBe('MALFORMED_QUERY');
    expect((await query("SELECT Id FROM Account WHERE Name = 'x")).body[0]?.errorCode).toBe('MALFORMED_QUERY');
    expect((await query('SELECT COUNT() FROM Account')).body[0]?.errorCode).toBe('MALFORMED_QUERY');
    expect((await query('SELECT Id FROM Account LIMIT -1')).body[0]?.errorCode).toBe('MALFORMED_QUERY');
  });

  it('answers INVALID_QUERY_LOCATOR for a locator never issued and one expired after 15 idle minutes', async () => {
    const never = await get(`/services/data/v${sandbox.apiVersion}/query/01gSB0000099999-200`);
    expect(never).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_QUERY_LOCATOR' }] });
    const first = await query('SELECT Id FROM Account', { 'Sforce-Query-Options': 'batchSize=200' });
    const next = first.body.nextRecordsUrl as string;
    clockOffsetMs += 16 * 60_000;
    const expired = await get(next);
    clockOffsetMs = 0;
    expect(expired).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALID_QUERY_LOCATOR', message: 'invalid query locator' }],
    });
  });
});

describe('sandbox REST query: results', () => {
  it('pages by the batch size with nextRecordsUrl until done, every record once', async () => {
    const first = await query('SELECT Id, Name FROM Account ORDER BY Name', {
      'Sforce-Query-Options': 'batchSize=200',
    });
    expect(first.body).toMatchObject({ totalSize: 450, done: false });
    const seen = (first.body.records as Record<string, unknown>[]).map((r) => r.Name);
    let next = first.body.nextRecordsUrl as string | undefined;
    while (next) {
      const page = await get(next);
      seen.push(...(page.body.records as Record<string, unknown>[]).map((r) => r.Name));
      next = page.body.done ? undefined : (page.body.nextRecordsUrl as string);
    }
    expect(seen).toHaveLength(450);
    expect(seen[0]).toBe('Account 000');
    expect(seen[449]).toBe('Account 449');
  });

  it('reads the same locator page again (a resumed reader)', async () => {
    const first = await query('SELECT Id FROM Account', { 'Sforce-Query-Options': 'batchSize=200' });
    const next = first.body.nextRecordsUrl as string;
    expect((await get(next)).body.records).toEqual((await get(next)).body.records);
  });

  it('filters with AND, OR, NOT, IN, LIKE, null and date literals, and returns only the selected fields', async () => {
    const energy = await conn.query<{ Name: string; Industry: string }>(
      "SELECT Name, Industry FROM Account WHERE Industry IN ('Energy') AND (Rating__c >= 8 OR Name LIKE '%01_') ORDER BY Name DESC LIMIT 5",
    );
    expect(energy.records.every((r) => r.Industry === 'Energy')).toBe(true);
    expect(energy.records.length).toBe(5);
    expect(Object.keys(energy.records[0] ?? {}).sort()).toEqual(['Industry', 'Name', 'attributes']);
    const stale = await conn.query(
      'SELECT Id FROM Account WHERE Last_Enriched__c = null OR Last_Enriched__c < LAST_N_DAYS:7',
    );
    // Odd accounts have never been enriched (225); even ones were enriched (i % 20) days ago: older than 7 days for 12 of every 20.
    const expected = 225 + Array.from({ length: 225 }, (_, k) => (2 * k) % 20).filter((d) => d > 7).length;
    expect(stale.totalSize).toBe(expected);
    const none = await conn.query("SELECT Id FROM Account WHERE NOT Industry != 'Energy' AND Industry = 'Retail'");
    expect(none.totalSize).toBe(0);
  });

  it('is what jsforce reads with autoFetch, following nextRecordsUrl', async () => {
    const all = await conn.query('SELECT Id FROM Account').run({ autoFetch: true, maxFetch: 10_000 });
    expect(all.totalSize).toBe(450);
  });
});

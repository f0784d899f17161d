import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SalesforceSandbox, startSalesforceSandbox } from './salesforce-sandbox.ts';

let sandbox: SalesforceSandbox;
let token: string;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox();
  sandbox.insertRecord('Account', { Name: 'Acme "Quoted", Inc.', Industry: 'Energy' });
  sandbox.insertRecord('Account', { Name: 'Beta' });
  sandbox.insertRecord('Account', { Name: 'Gamma', Industry: 'Retail' });
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: sandbox.loginUrl, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret },
    version: sandbox.apiVersion,
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  token = conn.accessToken as string;
});
afterAll(async () => {
  await sandbox?.close();
});

const url = (path: string) => `${sandbox.instanceUrl}/services/data/v${sandbox.apiVersion}/jobs/query${path}`;
const call = (path: string, init: RequestInit = {}) =>
  fetch(url(path), { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
const create = (body: unknown) => call('', { method: 'POST', body: JSON.stringify(body) });

describe('sandbox Bulk API 2.0 query jobs', () => {
  it('refuses an operation other than query, and a malformed query, at creation', async () => {
    const bad = await create({ operation: 'insert', query: 'SELECT Id FROM Account' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject([{ errorCode: 'INVALIDJOB' }]);
    const malformed = await create({ operation: 'query', query: 'SELECT Id FORM Account' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject([{ errorCode: 'MALFORMED_QUERY' }]);
  });

  it('answers 404 for an unknown job and 400 API_ERROR for results before the job is complete', async () => {
    expect((await call('/750SB0000009999')).status).toBe(404);
    const job = (await (await create({ operation: 'query', query: 'SELECT Id FROM Account' })).json()) as {
      id: string;
    };
    const early = await call(`/${job.id}/results`);
    expect(early.status).toBe(400);
    expect(await early.json()).toMatchObject([{ errorCode: 'API_ERROR' }]);
  });

  it('completes after a poll and serves CSV results by locator, every value quoted, null empty', async () => {
    const job = (await (
      await create({ operation: 'query', query: 'SELECT Name, Industry FROM Account ORDER BY Name' })
    ).json()) as {
      id: string;
      state: string;
    };
    expect(job.state).toBe('UploadComplete');
    expect(((await (await call(`/${job.id}`)).json()) as { state: string }).state).toBe('InProgress');
    expect(await (await call(`/${job.id}`)).json()).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 3 });
    const first = await call(`/${job.id}/results?maxRecords=2`);
    expect(first.headers.get('content-type')).toBe('text/csv');
    expect(first.headers.get('sforce-numberofrecords')).toBe('2');
    expect(await first.text()).toBe('"Name","Industry"\n"Acme ""Quoted"", Inc.","Energy"\n"Beta",\n');
    const locator = first.headers.get('sforce-locator') as string;
    expect(locator).not.toBe('null');
    const last = await call(`/${job.id}/results?maxRecords=2&locator=${locator}`);
    expect(last.headers.get('sforce-locator')).toBe('null');
    expect(await last.text()).toBe('"Name","Industry"\n"Gamma","Retail"\n');
    const invalid = await call(`/${job.id}/results?locator=%%%`);
    expect(invalid.status).toBe(400);
  });
});

import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SalesforceSandbox, startSalesforceSandbox } from './salesforce-sandbox.ts';

let sandbox: SalesforceSandbox;
let token: string;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox();
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

const call = (path: string, method = 'GET', body?: string, type = 'application/json') =>
  fetch(`${sandbox.instanceUrl}/services/data/v${sandbox.apiVersion}/jobs/ingest${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    ...(body === undefined ? {} : { body }),
  });
const open = async (body: Record<string, unknown>) => call('', 'POST', JSON.stringify({ contentType: 'CSV', ...body }));

describe('sandbox Bulk API 2.0 ingest jobs', () => {
  it('refuses an unknown object, another operation and an upsert without an external id field', async () => {
    expect(await (await open({ object: 'Nope__c', operation: 'update' })).json()).toMatchObject([
      { errorCode: 'INVALIDJOB' },
    ]);
    expect(await (await open({ object: 'Account', operation: 'hardDelete' })).json()).toMatchObject([
      { errorCode: 'INVALIDJOB' },
    ]);
    expect((await open({ object: 'MCP_Result__c', operation: 'upsert', externalIdFieldName: 'Name' })).status).toBe(
      400,
    );
  });

  it('takes one upload, refuses a second and results before the job is complete', async () => {
    const job = (await (await open({ object: 'Account', operation: 'update' })).json()) as {
      id: string;
      state: string;
    };
    expect(job.state).toBe('Open');
    expect((await call(`/${job.id}/batches`, 'PUT', 'Id,Name\n', 'text/csv')).status).toBe(201);
    expect((await call(`/${job.id}/batches`, 'PUT', 'Id,Name\n', 'text/csv')).status).toBe(400);
    expect((await call(`/${job.id}/failedResults/`)).status).toBe(400);
    expect((await call('/750SI0000009999')).status).toBe(404);
  });

  it('saves each row with the save rules, a failing row not stopping the others, and reports both', async () => {
    const a = sandbox.insertRecord('Account', { Name: 'A' });
    const b = sandbox.insertRecord('Account', { Name: 'B' });
    const job = (await (await open({ object: 'Account', operation: 'update' })).json()) as { id: string };
    const csv = `Id,Name,Description\n"${a}","A2","#N/A"\n"${b}","${'x'.repeat(300)}",""\n"001000000000000AAA","C",""\n`;
    await call(`/${job.id}/batches`, 'PUT', csv, 'text/csv');
    expect(
      (await (await call(`/${job.id}`, 'PATCH', JSON.stringify({ state: 'UploadComplete' }))).json()) as object,
    ).toMatchObject({
      state: 'UploadComplete',
    });
    expect(await (await call(`/${job.id}`)).json()).toMatchObject({ state: 'InProgress' });
    expect(await (await call(`/${job.id}`)).json()).toMatchObject({
      state: 'JobComplete',
      numberRecordsProcessed: 3,
      numberRecordsFailed: 2,
    });
    const ok = await (await call(`/${job.id}/successfulResults/`)).text();
    expect(ok.split('\n')[0]).toBe('"sf__Id","sf__Created","Id","Name","Description"');
    expect(ok).toContain(`"${a}","false"`);
    const failed = await (await call(`/${job.id}/failedResults/`)).text();
    expect(failed).toContain('STRING_TOO_LONG:');
    expect(failed).toContain('NOT_FOUND:');
    const byId = new Map(sandbox.records('Account').map((r) => [r.Id, r]));
    expect(byId.get(a)).toMatchObject({ Name: 'A2', Description: null });
    expect(byId.get(b)?.Name).toBe('B');
  });
});

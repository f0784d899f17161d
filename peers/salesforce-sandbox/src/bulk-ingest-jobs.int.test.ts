import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SalesforceSandbox, startSalesforceSandbox } from './salesforce-sandbox.ts';

let sandbox: SalesforceSandbox;
let token: string;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({
    objects: {
      Account: {
        fields: {
          Name: { length: 255, required: true, label: 'Account Name' },
          Description: { type: 'textarea', length: 32000 },
          Customer_Key__c: { length: 40, externalId: true, label: 'Customer Key' },
          // An external id that is not unique: two records may share a value.
          Legacy_Key__c: { length: 40, externalId: true, unique: false, label: 'Legacy Key' },
        },
      },
    },
  });
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

/** Opens a job, uploads the CSV, closes it and looks until it is no longer in progress. */
async function run(body: Record<string, unknown>, csv: string) {
  const job = (await (await open(body)).json()) as { id: string };
  expect((await call(`/${job.id}/batches`, 'PUT', csv, 'text/csv')).status).toBe(201);
  await call(`/${job.id}`, 'PATCH', JSON.stringify({ state: 'UploadComplete' }));
  let info: { state: string; errorMessage?: string; numberRecordsProcessed: number; numberRecordsFailed: number };
  do info = (await (await call(`/${job.id}`)).json()) as typeof info;
  while (info.state === 'InProgress' || info.state === 'UploadComplete');
  const results = async (kind: string) =>
    info.state === 'JobComplete' ? await (await call(`/${job.id}/${kind}/`)).text() : '';
  return { info, ok: await results('successfulResults'), failed: await results('failedResults') };
}

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

  it('refuses an upsert job with no external id field, or one that is not an external id, in Salesforce words', async () => {
    expect(await (await open({ object: 'Account', operation: 'upsert' })).json()).toEqual([
      {
        errorCode: 'INVALIDJOB',
        message: 'InvalidJob : External ID was blank for Account. An External ID must be specified for upsert.',
      },
    ]);
    expect(
      await (await open({ object: 'Account', operation: 'upsert', externalIdFieldName: 'Nope__c' })).json(),
    ).toEqual([
      {
        errorCode: 'INVALIDJOB',
        message:
          'InvalidJob : Field name provided, Nope__c does not match an External ID, Salesforce Id, or indexed field for Account',
      },
    ]);
    // A field that exists but is no external id is refused the same way.
    expect((await open({ object: 'Account', operation: 'upsert', externalIdFieldName: 'Description' })).status).toBe(
      400,
    );
  });

  it('fails the whole job on a column the object does not have, saving nothing', async () => {
    const before = sandbox.records('Account').length;
    const { info } = await run(
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'Customer_Key__c' },
      'Customer_Key__c,Name,Nope__c\n"k-unknown","A","x"\n',
    );
    expect(info).toMatchObject({ state: 'Failed', errorMessage: 'InvalidBatch : Field name not found : Nope__c' });
    expect(sandbox.records('Account').length).toBe(before);
  });

  it('upsert: a missing value, a value twice in the file and several matching records fail their rows only', async () => {
    const l1 = sandbox.insertRecord('Account', { Name: 'L1', Legacy_Key__c: 'legacy-dup' });
    const l2 = sandbox.insertRecord('Account', { Name: 'L2', Legacy_Key__c: 'legacy-dup' });
    const csv = [
      'Legacy_Key__c,Name',
      '"","No key"', // no value in the external id column
      '"legacy-twice","First"', // the same value twice in one file
      '"legacy-twice","Second"',
      '"legacy-dup","Ambiguous"', // two records already carry it
      '"legacy-new","Created"', // the others still go through
    ].join('\n');
    const { info, ok, failed } = await run(
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'legacy_key__c' },
      `${csv}\n`,
    );
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 5, numberRecordsFailed: 4 });
    const lines = failed.trim().split('\n');
    expect(lines[0]).toBe('"sf__Id","sf__Error","Legacy_Key__c","Name"');
    expect(lines.slice(1)).toEqual([
      '"","MISSING_ARGUMENT:Legacy_Key__c not specified:Legacy_Key__c --","","No key"',
      '"","DUPLICATE_VALUE:Duplicate external id specified: legacy-twice:Legacy_Key__c --","legacy-twice","First"',
      '"","DUPLICATE_VALUE:Duplicate external id specified: legacy-twice:Legacy_Key__c --","legacy-twice","Second"',
      `"","DUPLICATE_EXTERNAL_ID:Legacy Key: more than one record found for external id field: [${l1}, ${l2}]:Legacy_Key__c --","legacy-dup","Ambiguous"`,
    ]);
    expect(ok).toMatch(/^"sf__Id","sf__Created","Legacy_Key__c","Name"\n"001\w+","true","legacy-new","Created"\n$/);
    const names = sandbox.records('Account').map((r) => r.Name);
    expect(names).toContain('Created');
    expect(names).not.toContain('No key');
    expect(names).not.toContain('First');
    expect(names.filter((n) => n === 'L1' || n === 'L2')).toHaveLength(2);
  });

  it('upsert: a file without the external id column fails every row with MISSING_ARGUMENT', async () => {
    const { info, failed } = await run(
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'Customer_Key__c' },
      'Name\n"A"\n"B"\n',
    );
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 2, numberRecordsFailed: 2 });
    expect(failed.match(/MISSING_ARGUMENT:Customer_Key__c not specified/g)).toHaveLength(2);
  });

  it('upsert: creates where no record matches and updates where one does, saying which in sf__Created', async () => {
    const existing = sandbox.insertRecord('Account', { Name: 'Old', Customer_Key__c: 'cust-1' });
    const { info, ok } = await run(
      { object: 'Account', operation: 'upsert', externalIdFieldName: 'Customer_Key__c' },
      'Customer_Key__c,Name,Description\n"cust-1","Renamed","#N/A"\n"cust-2","Brand new",""\n',
    );
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 2, numberRecordsFailed: 0 });
    const rows = ok.trim().split('\n');
    expect(rows[1]).toBe(`"${existing}","false","cust-1","Renamed","#N/A"`);
    expect(rows[2]).toMatch(/^"001\w+","true","cust-2","Brand new",""$/);
    const byKey = new Map(sandbox.records('Account').map((r) => [r.Customer_Key__c, r]));
    expect(byKey.get('cust-1')).toMatchObject({ Id: existing, Name: 'Renamed', Description: null });
    expect(byKey.get('cust-2')).toMatchObject({ Name: 'Brand new' });
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

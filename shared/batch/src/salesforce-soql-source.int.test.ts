import type { OrgConnection } from '@mcp-broker/salesforce';
import { type SalesforceSandbox, startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxOrgConnection } from '../test-support/sandbox-org.ts';
import { BatchSourceError } from './batch-source.ts';
import { BulkQuery } from './salesforce-bulk-query.ts';
import { SalesforceSoqlSource } from './salesforce-soql-source.ts';

let sandbox: SalesforceSandbox;
let org: OrgConnection;
let clockOffsetMs = 0;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ now: () => new Date(Date.now() + clockOffsetMs) });
  for (let i = 0; i < 450; i++) sandbox.insertRecord('Account', { Name: `Account ${String(i).padStart(3, '0')}` });
  org = sandboxOrgConnection(sandbox);
});
afterAll(async () => {
  await org?.close();
  await sandbox?.close();
});

const source = (query: string) => new SalesforceSoqlSource({ org, query });

describe('Salesforce SOQL source', () => {
  it("fails a malformed query as final, with Salesforce's code and message", async () => {
    const read = source('SELECT Id FORM Account').readPage(undefined, 200);
    await expect(read).rejects.toBeInstanceOf(BatchSourceError);
    await expect(read).rejects.toMatchObject({
      code: 'SALESFORCE_MALFORMED_QUERY',
      transient: false,
      message: expect.stringContaining('unexpected token: FORM'),
    });
  });

  it('fails an unknown field as final INVALID_FIELD', async () => {
    await expect(source('SELECT Id, Nope__c FROM Account').readPage(undefined, 200)).rejects.toMatchObject({
      code: 'SALESFORCE_INVALID_FIELD',
      transient: false,
    });
  });

  it("reports a 500 that outlasts jsforce's own retries as transient, and the same page reads after it", async () => {
    // jsforce retries a 5xx five times by itself: six in a row reach the source.
    sandbox.faults.serverError({ count: 6 });
    const q = source('SELECT Id FROM Account');
    await expect(q.readPage(undefined, 200)).rejects.toMatchObject({
      code: 'SALESFORCE_UNKNOWN_EXCEPTION',
      transient: true,
    });
    expect((await q.readPage(undefined, 200)).records).toHaveLength(200);
  });

  it('pages through nextRecordsUrl, one batch at a time, records without attributes', async () => {
    const q = source('SELECT Id, Name FROM Account ORDER BY Name');
    const names: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await q.readPage(cursor, 200);
      expect(page.records.length).toBeLessThanOrEqual(200);
      for (const r of page.records) {
        expect(r).not.toHaveProperty('attributes');
        names.push(r.Name);
      }
      cursor = page.next;
    } while (cursor);
    expect(names).toHaveLength(450);
    expect(new Set(names).size).toBe(450);
  });

  it('marks an expired locator for a restart from the first page', async () => {
    const q = source('SELECT Id FROM Account');
    const first = await q.readPage(undefined, 200);
    clockOffsetMs += 16 * 60_000;
    try {
      await expect(q.readPage(first.next, 200)).rejects.toMatchObject({
        code: 'SALESFORCE_INVALID_QUERY_LOCATOR',
        restart: true,
        transient: false,
      });
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('reads a selection above bulkAbove from a Bulk API 2.0 query job, page by page by locator', async () => {
    const q = new SalesforceSoqlSource({
      org,
      query: 'SELECT Id, Name FROM Account ORDER BY Name',
      bulkAbove: 100,
      bulk: { pollBaseMs: 10 },
    });
    const names: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await q.readPage(cursor, 200);
      pages += 1;
      if (pages === 1) expect(page.next?.startsWith('bulk:')).toBe(true);
      for (const r of page.records) names.push(r.Name);
      // The same cursor reads the same page again (a resumed run).
      if (page.next && pages === 1)
        expect((await q.readPage(page.next, 200)).records).toEqual((await q.readPage(page.next, 200)).records);
      cursor = page.next;
    } while (cursor);
    expect(pages).toBe(3);
    expect(names).toHaveLength(450);
    expect(names[0]).toBe('Account 000');
    expect(new Set(names).size).toBe(450);
  });

  it("refuses a bulk job for a malformed query with Salesforce's code", async () => {
    await expect(new BulkQuery({ org }).start('SELECT Id FORM Account')).rejects.toMatchObject({
      code: 'SALESFORCE_MALFORMED_QUERY',
      transient: false,
    });
  });

  it('reports an unknown bulk job as final NOT_FOUND', async () => {
    await expect(new BulkQuery({ org }).page('bulk:750SB0000009999:', 200)).rejects.toMatchObject({
      code: 'SALESFORCE_NOT_FOUND',
      transient: false,
    });
  });
});

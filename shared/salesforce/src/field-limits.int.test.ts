import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG, type SandboxOrg, startSandboxOrg } from '../test-support/salesforce.ts';
import {
  FieldLimits,
  fitToFieldLimits,
  SObjectFieldLimits,
  truncateToLength,
  truncationPointer,
} from './field-limits.ts';

const POINTER = truncationPointer('https://broker.example.com/v1/tool-calls/tc_1');

describe('truncateToLength', () => {
  it('leaves a value that fits as it is', () => {
    expect(truncateToLength('short', 255, POINTER)).toBe('short');
    expect(truncateToLength('x'.repeat(255), 255, POINTER)).toBe('x'.repeat(255));
  });

  it('cuts a longer value to exactly the length, ending with the pointer to the full result', () => {
    const cut = truncateToLength('x'.repeat(1000), 255, POINTER);
    expect(cut).toHaveLength(255);
    expect(cut).toBe(`${'x'.repeat(255 - POINTER.length)}${POINTER}`);
    expect(cut.endsWith('… [truncated; full result: https://broker.example.com/v1/tool-calls/tc_1]')).toBe(true);
  });

  it('falls back to a short marker when the pointer leaves no room, and to a plain cut below that', () => {
    expect(truncateToLength('y'.repeat(100), 40, POINTER)).toBe(`${'y'.repeat(27)}… [truncated]`);
    expect(truncateToLength('y'.repeat(100), 10, POINTER)).toBe('y'.repeat(10));
  });

  it('does not split a surrogate pair', () => {
    const cut = truncateToLength(`${'a'.repeat(100 - POINTER.length - 1)}😀${'b'.repeat(200)}`, 100, POINTER);
    expect(cut).toHaveLength(99);
    expect(cut.endsWith(POINTER)).toBe(true);
    expect(cut).not.toContain('\ud83d…');
  });
});

describe('fitToFieldLimits', () => {
  const limits = new SObjectFieldLimits('Opportunity', [
    { name: 'Contract_URL__c', type: 'url', length: 255, truncatable: true, writable: true },
    { name: 'StageName', type: 'picklist', length: 255, truncatable: false, writable: true },
    { name: 'Amount', type: 'currency', length: 0, truncatable: false, writable: true },
  ]);

  it('cuts only truncatable fields, reports them, and uses the declared field names', () => {
    const fitted = fitToFieldLimits(
      { contract_url__c: 'u'.repeat(300), StageName: 's'.repeat(300), Amount: 5, Bogus__c: 'kept' },
      limits,
      POINTER,
    );
    expect(fitted.truncated).toEqual(['Contract_URL__c']);
    expect(fitted.values.Contract_URL__c).toHaveLength(255);
    expect(fitted.values.StageName).toBe('s'.repeat(300));
    expect(fitted.values).toMatchObject({ Amount: 5, Bogus__c: 'kept' });
    expect(Object.keys(fitted.values)).toEqual(['Contract_URL__c', 'StageName', 'Amount', 'Bogus__c']);
  });
});

describe('FieldLimits against the sandbox describe', () => {
  let org: SandboxOrg;
  beforeAll(async () => {
    org = await startSandboxOrg();
  });
  afterAll(() => org.close());

  it('describes an sObject once per org and knows which fields may be cut', async () => {
    const cache = new FieldLimits();
    const conn = await org.orgs.get(ORG).connection();
    const [first, concurrent] = await Promise.all([
      cache.of(ORG, 'Opportunity', conn),
      cache.of(ORG, 'opportunity', conn),
    ]);
    expect(concurrent).toBe(first);
    expect(await cache.of(ORG, 'Opportunity', conn)).toBe(first);
    expect(first.field('contract_url__c')).toEqual({
      name: 'Contract_URL__c',
      type: 'url',
      length: 255,
      truncatable: true,
      writable: true,
    });
    expect(first.field('StageName')).toMatchObject({ type: 'picklist', truncatable: false });
    expect(first.field('Id')).toMatchObject({ type: 'id', truncatable: false, writable: false });

    const results = await cache.of(ORG, 'MCP_Result__c', conn);
    expect(results.field('Request_Id__c')).toMatchObject({ type: 'string', length: 255, truncatable: false });
    expect(results.field('Error__c')).toMatchObject({ type: 'textarea', length: 32768, truncatable: true });

    cache.forget(ORG, 'Opportunity');
    expect(await cache.of(ORG, 'Opportunity', conn)).not.toBe(first);
  });

  it('does not keep a failed describe', async () => {
    const cache = new FieldLimits();
    const conn = await org.orgs.get(ORG).connection();
    org.sandbox.faults.requestLimitExceeded();
    await expect(cache.of(ORG, 'Account', conn)).rejects.toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED' });
    expect((await cache.of(ORG, 'Account', conn)).field('Name')).toMatchObject({ length: 255 });
  });
});

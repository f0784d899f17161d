import type { WriteBackTarget } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { OrgConnections } from './org-connections.ts';
import { checkSalesforceTarget } from './salesforce-target-access.ts';

const orgs = [
  { id: 'acme-prod', caller: 'acme-sales' },
  { id: 'globex-prod', caller: 'globex' },
];
const resultTarget = (org: string): WriteBackTarget => ({ type: 'salesforce-result', org });

describe('checkSalesforceTarget (at submission)', () => {
  it('accepts a Salesforce target whose org belongs to the caller', () => {
    expect(checkSalesforceTarget('acme-sales', resultTarget('acme-prod'), orgs)).toBeUndefined();
    expect(
      checkSalesforceTarget(
        'acme-sales',
        {
          type: 'salesforce-record',
          org: 'acme-prod',
          sobject: 'Opportunity',
          recordId: '006000000000000',
          fields: { A: 'b' },
        },
        orgs,
      ),
    ).toBeUndefined();
  });

  it('refuses another caller’s org with a clear message', () => {
    expect(checkSalesforceTarget('acme-sales', { type: 'salesforce-event', org: 'globex-prod' }, orgs)).toEqual({
      code: 'SALESFORCE_ORG_NOT_ALLOWED',
      message:
        'The salesforce-event target names Salesforce org "globex-prod", which is not a connected org of caller "acme-sales".',
    });
  });

  it('refuses an unknown org with the same message, so orgs cannot be probed', () => {
    expect(checkSalesforceTarget('acme-sales', resultTarget('nowhere'), orgs)?.message).toBe(
      'The salesforce-result target names Salesforce org "nowhere", which is not a connected org of caller "acme-sales".',
    );
  });

  it('leaves other target types alone', () => {
    expect(
      checkSalesforceTarget('acme-sales', { type: 'http-callback', url: 'https://hooks.example.com/x' }, orgs),
    ).toBeUndefined();
  });

  it('takes the OrgConnections registry as well as the configuration', () => {
    const registry = new OrgConnections({
      orgs: orgs.map((o) => ({
        ...o,
        loginUrl: 'https://login.salesforce.com',
        apiVersion: '62.0',
        auth: { type: 'client-credentials' as const, clientId: 'x', clientSecret: { fromEnv: 'X' } },
        channels: [],
      })),
      env: {},
    });
    expect(checkSalesforceTarget('globex', resultTarget('globex-prod'), registry)).toBeUndefined();
    expect(checkSalesforceTarget('globex', resultTarget('acme-prod'), registry)?.code).toBe(
      'SALESFORCE_ORG_NOT_ALLOWED',
    );
  });
});

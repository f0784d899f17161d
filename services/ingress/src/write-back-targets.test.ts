import { describe, expect, it } from 'vitest';
import { toWriteBackTargets } from './write-back-targets.ts';

describe('write-back targets from the API', () => {
  it('reads kind, objectApiName and fieldMappings as type, sobject and fields', () => {
    const documented = toWriteBackTargets([
      {
        kind: 'salesforce-record',
        org: 'prod',
        objectApiName: 'Opportunity',
        recordId: '006000000000001AAA',
        fieldMappings: [{ field: 'Contract_URL__c', expression: 'structuredContent.url' }],
      },
    ]);
    const old = toWriteBackTargets([
      {
        type: 'salesforce-record',
        org: 'prod',
        sobject: 'Opportunity',
        recordId: '006000000000001AAA',
        fields: { Contract_URL__c: 'structuredContent.url' },
      },
    ]);
    expect(documented).toEqual(old);
    expect(documented[0]).toMatchObject({ type: 'salesforce-record', sobject: 'Opportunity' });
  });
});

import type { CallerConfig } from '@mcp-broker/broker-config';
import { BrokerError, type WriteBackTarget } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { intakeBrokerConfig } from '../../test-support/intake-fixture.ts';
import { WriteBackPolicy } from './write-back-policy.ts';

const broker = intakeBrokerConfig(['acme', 'other'], ['*']);
const acme = broker.callers[0] as CallerConfig;

const policy = new WriteBackPolicy({
  salesforceOrgs: [],
  env: {},
  databricksWorkspaces: [
    { id: 'acme-ws', caller: 'acme' },
    { id: 'other-ws', caller: 'other' },
  ],
  serviceBusTargets: [
    { id: 'results', callers: ['acme', 'other'] },
    { id: 'other-results', callers: ['other'] },
  ],
  eventGridTopics: [
    { id: 'outcomes', callers: ['acme'] },
    { id: 'other-outcomes', callers: ['other'] },
  ],
});

function refusal(targets: WriteBackTarget[], on = policy): BrokerError {
  try {
    on.check(acme, targets);
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const databricks = (workspace: string): WriteBackTarget => ({
  type: 'databricks-sql',
  workspace,
  warehouseId: 'wh-1',
  table: 'main.enrichment.results',
});
const serviceBus = (destination: string): WriteBackTarget => ({ type: 'service-bus', destination });
const eventGrid = (topic: string): WriteBackTarget => ({ type: 'event-grid', topic });

describe('write-back policy: configured destinations are checked when the call is submitted', () => {
  it("refuses another caller's Databricks workspace, naming the field, as if it did not exist", () => {
    const theirs = refusal([databricks('other-ws')]);
    const unknown = refusal([databricks('nowhere')]);
    expect(theirs).toMatchObject({
      code: 'BROKER_WRITE_BACK_NOT_ALLOWED',
      status: 400,
      details: { field: 'writeBack[0].workspace' },
    });
    expect(theirs.message).toContain('writeBack[0].workspace');
    expect(theirs.message).toContain('(configured: acme-ws)');
    expect(unknown.message.replace('nowhere', 'other-ws')).toBe(theirs.message);
  });

  it('refuses a Service Bus target not open to the caller, at its index', () => {
    const err = refusal([serviceBus('results'), serviceBus('other-results')]);
    expect(err).toMatchObject({
      code: 'BROKER_WRITE_BACK_NOT_ALLOWED',
      details: { field: 'writeBack[1].destination' },
    });
  });

  it('refuses an Event Grid topic not open to the caller', () => {
    expect(refusal([eventGrid('other-outcomes')])).toMatchObject({
      code: 'BROKER_WRITE_BACK_NOT_ALLOWED',
      details: { field: 'writeBack[0].topic' },
    });
  });

  it('accepts destinations configured for the caller', () => {
    expect(() =>
      policy.check(acme, [databricks('acme-ws'), serviceBus('results'), eventGrid('outcomes')]),
    ).not.toThrow();
  });

  it('refuses every such target when no destinations are configured at all', () => {
    const bare = new WriteBackPolicy({ salesforceOrgs: [], env: {} });
    for (const target of [databricks('acme-ws'), serviceBus('results'), eventGrid('outcomes')]) {
      expect(refusal([target], bare).code).toBe('BROKER_WRITE_BACK_NOT_ALLOWED');
    }
  });

  it('keeps the id it echoes short', () => {
    expect(refusal([eventGrid(`a${'b'.repeat(62)}`)]).message.length).toBeLessThan(300);
  });
});

import { describe, expect, it } from 'vitest';
import { BrokerConfigError, parseBrokerConfig } from './load-broker-config.ts';

const caller = (id: string, tools: string[]) => ({
  id,
  auth: { type: 'basic', username: id, passwordHash: 'scrypt$2$8$1$c2FsdA==$aGFzaA==' },
  upstream: {
    endpoint: 'local',
    credential: {
      type: 'client-credentials',
      tokenUrl: 'http://127.0.0.1:1/token',
      clientId: id,
      clientSecret: { fromEnv: 'UNUSED' },
      scope: 's',
    },
  },
  tools,
  limits: { concurrency: 4, callsPerMinute: 600 },
});

const schedule = (over: Record<string, unknown> = {}) => ({
  id: 'nightly-accounts',
  cron: '0 2 * * *',
  timeZone: 'Europe/Paris',
  caller: 'acme',
  source: { type: 'salesforce-soql', org: 'acme-org', query: 'SELECT Id, Name FROM Account' },
  tool: 'next_best_action',
  arguments: '{ "account_id": Id }',
  writeBack: {
    type: 'salesforce-record',
    org: 'acme-org',
    sobject: 'Account',
    fields: { Next_Best_Action__c: 'structuredContent.action' },
  },
  ...over,
});

function config(schedules: unknown[]) {
  return JSON.stringify({
    endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
    callers: [caller('acme', ['next_best_action']), caller('other', ['*'])],
    salesforce: {
      orgs: ['acme', 'other'].map((c) => ({
        id: `${c}-org`,
        caller: c,
        loginUrl: 'https://login.salesforce.com',
        auth: { type: 'client-credentials', clientId: 'c', clientSecret: { fromEnv: 'UNUSED' } },
      })),
    },
    schedules,
  });
}

function problems(schedules: unknown[]): string {
  try {
    parseBrokerConfig(config(schedules), 'broker.json');
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('schedules in the broker configuration', () => {
  it('refuses a cron expression that does not parse, naming the schedule and the field', () => {
    const message = problems([schedule({ cron: '61 2 * * *' })]);
    expect(message).toContain('schedules.0.cron');
    expect(message).toMatch(/not a valid cron expression: .*0-59/);
  });

  it('refuses an unknown time zone', () => {
    expect(problems([schedule({ timeZone: 'Mars/Olympus' })])).toContain(
      'schedules.0.timeZone: unknown time zone "Mars/Olympus"',
    );
  });

  it('refuses both or neither of cron and everySeconds', () => {
    expect(problems([schedule({ everySeconds: 60 })])).toContain('set exactly one of cron and everySeconds');
    expect(problems([schedule({ cron: undefined })])).toContain('set exactly one of cron and everySeconds');
  });

  it('refuses a JSONata syntax error in the arguments, with the position', () => {
    const message = problems([schedule({ arguments: '{ "account_id": Id ' })]);
    expect(message).toContain('schedules.0.arguments: not a valid JSONata expression');
    expect(message).toMatch(/at position \d+/);
  });

  it('refuses a JSONata syntax error in a write-back field', () => {
    const bad = schedule({
      writeBack: { type: 'salesforce-record', org: 'acme-org', sobject: 'Account', fields: { A__c: '$$$(' } },
    });
    expect(problems([bad])).toContain('schedules.0.writeBack.fields.A__c: not a valid JSONata expression');
  });

  it("refuses a tool that is not on the caller's allowlist", () => {
    expect(problems([schedule({ tool: 'generate_contract' })])).toContain(
      `schedules.0.tool: schedule "nightly-accounts": tool "generate_contract" is not on caller "acme"'s allowlist`,
    );
  });

  it('refuses an unknown caller', () => {
    expect(problems([schedule({ caller: 'nobody' })])).toContain(
      'schedules.0.caller: schedule "nightly-accounts": unknown caller "nobody"',
    );
  });

  it("refuses a source or a write-back in another caller's org, without saying whose it is", () => {
    const message = problems([
      schedule({ source: { type: 'salesforce-soql', org: 'other-org', query: 'SELECT Id FROM Account' } }),
    ]);
    expect(message).toContain('schedules.0.source.org: schedule "nightly-accounts": no Salesforce org "other-org"');
    expect(message).toContain('(connected: acme-org)');
  });

  it("refuses a summary event in another caller's org, and a name that is not a platform event", async () => {
    expect(problems([schedule({ summaryEvent: { type: 'salesforce-event', org: 'other-org' } })])).toContain(
      'schedules.0.summaryEvent.org: schedule "nightly-accounts": no Salesforce org "other-org"',
    );
    expect(
      problems([schedule({ summaryEvent: { type: 'salesforce-event', org: 'acme-org', event: 'Account' } })]),
    ).toContain('schedules.0.summaryEvent.event: a platform event API name');
  });

  it("refuses a concurrency that would leave the caller's interactive calls no slot", () => {
    expect(problems([schedule({ concurrency: 4 })])).toContain(
      'schedules.0.concurrency: schedule "nightly-accounts": 4 must be below caller "acme"\'s concurrency (4)',
    );
    expect(problems([schedule({ callsPerMinute: 601 })])).toContain('exceeds caller "acme"\'s callsPerMinute (600)');
  });

  it('refuses Id or a mapped field as the write-back external id field, naming the schedule and the field', () => {
    const writeBack = (over: Record<string, unknown>) => ({ writeBack: { ...schedule().writeBack, ...over } });
    expect(problems([schedule(writeBack({ externalIdField: 'ID' }))])).toContain(
      'schedules.0.writeBack.externalIdField: schedule "nightly-accounts": Id is no external id field',
    );
    expect(
      problems([
        schedule(
          writeBack({
            externalIdField: 'Customer_Key__c',
            fields: { customer_key__c: 'text', Score__c: 'structuredContent.score' },
          }),
        ),
      ]),
    ).toContain(
      'schedules.0.writeBack.fields.customer_key__c: schedule "nightly-accounts": "customer_key__c" is the external id field',
    );
    expect(problems([schedule(writeBack({ externalIdField: 'Customer Key' }))])).toContain(
      'schedules.0.writeBack.externalIdField: a field API name',
    );
  });

  it('accepts an external id field for the write-back (upsert)', () => {
    const parsed = parseBrokerConfig(
      config([
        schedule({
          writeBack: { ...schedule().writeBack, externalIdField: 'Customer_Key__c', recordId: 'call.arguments.key' },
        }),
      ]),
    );
    expect(parsed.schedules[0]?.writeBack).toMatchObject({
      externalIdField: 'Customer_Key__c',
      recordId: 'call.arguments.key',
    });
  });

  it('refuses duplicate schedule ids', () => {
    expect(problems([schedule(), schedule()])).toContain('schedules.1.id: schedule "nightly-accounts": duplicate');
  });

  it('accepts a complete schedule and fills the defaults', () => {
    const parsed = parseBrokerConfig(config([schedule()]));
    expect(parsed.schedules[0]).toMatchObject({
      enabled: true,
      overlap: 'skip',
      concurrency: 2,
      callsPerMinute: 60,
      maxRecords: 10_000,
      pageSize: 200,
      recordId: '$exists(Id) ? Id : id',
      writeBack: { chunkSize: 200, recordId: '$recordId', includeFailed: false },
    });
    expect(parsed.schedules[0]?.writeBack?.externalIdField).toBeUndefined();
    expect(parseBrokerConfig(config([])).schedules).toEqual([]);
  });

  it('accepts a Cosmos DB query source and an interval', () => {
    const parsed = parseBrokerConfig(
      config([
        schedule({
          cron: undefined,
          everySeconds: 3600,
          source: {
            type: 'cosmos-query',
            container: 'accounts',
            query: 'SELECT * FROM c WHERE c.tier = @tier',
            parameters: { '@tier': 'gold' },
          },
          writeBack: undefined,
        }),
      ]),
    );
    expect(parsed.schedules[0]?.source).toMatchObject({ type: 'cosmos-query', parameters: { '@tier': 'gold' } });
  });
});

import { describe, expect, it } from 'vitest';
import { DEV_ENRICHMENT_SCHEDULE, devBrokerConfig, devEnrichmentSchedule } from './dev-broker-config.ts';

const base = {
  mcpUrl: 'http://127.0.0.1:3001',
  tokenEndpoint: 'http://127.0.0.1:3100/token',
  upstreamClientId: 'broker-demo',
  demoPassword: 'not-a-real-password',
};
const salesforce = { loginUrl: 'http://127.0.0.1:3200', clientId: 'sandbox-client', apiVersion: '62.0' };

describe('the dev enrichment schedule', () => {
  it('refuses the schedule when no Salesforce org is connected, naming the source org', async () => {
    await expect(devBrokerConfig({ ...base, schedules: [devEnrichmentSchedule()] })).rejects.toMatchObject({
      issues: expect.arrayContaining([
        expect.objectContaining({
          path: ['schedules', 0, 'source', 'org'],
          message: expect.stringContaining('no Salesforce org "demo-org" is connected for caller "demo"'),
        }),
      ]),
    });
  });

  it("passes the configuration's schedule checks with the sandbox org connected", async () => {
    const config = await devBrokerConfig({ ...base, salesforce, schedules: [devEnrichmentSchedule()] });
    expect(config.schedules.map((s) => s.id)).toEqual([DEV_ENRICHMENT_SCHEDULE]);
    const [schedule] = config.schedules;
    expect(schedule?.concurrency).toBeLessThan(config.callers[0]?.limits.concurrency ?? 0);
    expect(schedule?.tool).toBe('next_best_action');
  });

  it('declares no schedule unless asked, so npm start has none', async () => {
    expect((await devBrokerConfig({ ...base, salesforce })).schedules).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import { brokerConfigSchema, type CallerConfig } from '@mcp-broker/broker-config';
import { createStore, type Store } from '@mcp-broker/store';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerQueues } from '../queues/broker-queues.ts';
import { ToolCallRepository } from '../record/tool-call-repository.ts';
import type { ArgumentValidator } from './argument-validator.ts';
import { ToolCallIntake } from './tool-call-intake.ts';
import { WriteBackPolicy } from './write-back-policy.ts';

const prefix = `intake:${randomUUID()}:`;
let store: Store;
let redis: Redis;
let queues: BrokerQueues;
let intake: ToolCallIntake;

const broker = brokerConfigSchema.parse({
  endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
  callers: ['acme', 'other'].map((id) => ({
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
    tools: ['generate_contract'],
  })),
  salesforce: {
    orgs: ['acme', 'other'].map((caller) => ({
      id: `${caller}-org`,
      caller,
      loginUrl: 'https://login.salesforce.com',
      auth: { type: 'client-credentials', clientId: 'c', clientSecret: { fromEnv: 'UNUSED' } },
    })),
  },
});
const acme = broker.callers[0] as CallerConfig;
// The endpoint's tool list is another module's concern (CatalogArgumentValidator); here one tool exists.
const validator: ArgumentValidator = {
  validate: async (_caller, tool) => (tool === 'generate_contract' ? { kind: 'ok' } : { kind: 'unknown_tool' }),
};
const correlation = { requestId: 'req-intake-test' };

beforeAll(async () => {
  store = await createStore({ databaseId: `intake-${randomUUID()}` });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queues = new BrokerQueues({ connection: redis, prefix });
  intake = new ToolCallIntake({
    repository: new ToolCallRepository({ store }),
    queues,
    redis,
    prefix,
    validator,
    writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: broker.salesforce.orgs, env: {} }),
  });
});
afterAll(async () => {
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await store.close();
});

const submission = (over: Partial<Parameters<ToolCallIntake['submit']>[1]> = {}) => ({
  tool: 'generate_contract',
  arguments: { opportunity_id: 'opp-000001-01' },
  writeBack: [],
  idempotencyKey: randomUUID(),
  source: { kind: 'salesforce' as const, reference: 'acme-org//event/MCP_Tool_Request__e/1' },
  ...over,
});

async function writeBackJobs() {
  return (await queues.writeBackQueue().getJobs(['waiting', 'delayed', 'prioritized'])).map((j) => j.data);
}

describe('tool-call intake', () => {
  it('accepts Salesforce write-back targets in an org connected for the caller', async () => {
    const { created, record } = await intake.submit(
      acme,
      submission({ writeBack: [{ type: 'salesforce-result', org: 'acme-org' }] }),
      correlation,
    );
    expect(created).toBe(true);
    expect(record.deliveries).toMatchObject([{ target: { type: 'salesforce-result', org: 'acme-org' } }]);
    expect(await queues.toolCallQueue('acme').getJobCounts('waiting')).toMatchObject({ waiting: 1 });
  });

  it("refuses a target in another caller's org, naming the field, and stores nothing", async () => {
    const key = randomUUID();
    const refused = intake.submit(
      acme,
      submission({ idempotencyKey: key, writeBack: [{ type: 'salesforce-event', org: 'other-org' }] }),
      correlation,
    );
    await expect(refused).rejects.toMatchObject({
      code: 'BROKER_WRITE_BACK_NOT_ALLOWED',
      details: { field: 'writeBack[0].org' },
      message: expect.stringContaining('connected: acme-org'),
    });
    // Reads the same as an org that does not exist: nothing says whose it is.
    await expect(refused).rejects.not.toMatchObject({ message: expect.stringContaining('"other"') });
    const { resources } = await store
      .container('toolCalls')
      .items.query({ query: 'SELECT * FROM c WHERE c.idempotencyKey = @k', parameters: [{ name: '@k', value: key }] })
      .fetchAll();
    expect(resources).toHaveLength(0);
  });

  it('records a refused submission as failed with the reason and writes the failure back once', async () => {
    const key = randomUUID();
    const bad = submission({
      tool: '',
      idempotencyKey: key,
      writeBack: [
        { type: 'salesforce-result', org: 'acme-org' },
        // Not the caller's: dropped rather than delivered.
        { type: 'salesforce-event', org: 'other-org' },
      ],
    });
    const error = { code: 'EVENT_TOOL_MISSING', message: 'Tool__c is empty.' };
    const record = await intake.reject(acme, bad, error, correlation);
    expect(record).toMatchObject({ status: 'failed', tool: '(none)', error, attempts: 0 });
    expect(record.deliveries.map((d) => d.target.type)).toEqual(['salesforce-result']);
    const again = await intake.reject(acme, bad, error, correlation);
    expect(again.id).toBe(record.id);
    expect((await writeBackJobs()).filter((j) => j.callId === record.id)).toHaveLength(1);
  });
});

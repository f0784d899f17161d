/**
 * What the intake tests (`accept`, `acceptMany`, the write-back policy) share: a broker
 * configuration whose callers each have one Salesforce org and an unreachable MCP endpoint (the
 * tool list is the test's own validator), a request builder, the store's records under an
 * idempotency key, and the peers' teardown.
 */
import { randomUUID } from 'node:crypto';
import { type BrokerConfig, brokerConfigSchema } from '@mcp-broker/broker-config';
import type { ToolCallRequest } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import type { Redis } from 'ioredis';
import type { BrokerQueues } from '../src/queues/broker-queues.ts';

/** Callers `ids`, each allowed `tools`, each with an org `<id>-org`. */
export function intakeBrokerConfig(ids: readonly string[], tools: readonly string[]): BrokerConfig {
  return brokerConfigSchema.parse({
    endpoints: { local: { url: 'http://127.0.0.1:1/mcp' } },
    callers: ids.map((id) => ({
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
    })),
    salesforce: {
      orgs: ids.map((caller) => ({
        id: `${caller}-org`,
        caller,
        loginUrl: 'https://login.salesforce.com',
        auth: { type: 'client-credentials', clientId: 'c', clientSecret: { fromEnv: 'UNUSED' } },
      })),
    },
  });
}

/** A `generate_contract` request of acme's org's event, a fresh key each time unless `over` says otherwise. */
export function intakeRequest(requestId: string, over: Partial<ToolCallRequest> = {}): ToolCallRequest {
  return {
    tool: 'generate_contract',
    arguments: { opportunity_id: 'opp-000001-01' },
    writeBack: [],
    idempotencyKey: randomUUID(),
    source: { kind: 'salesforce' as const, reference: 'acme-org//event/MCP_Tool_Request__e/1' },
    correlation: { requestId },
    ...over,
  };
}

/** Every record the store holds under `key` (any caller). */
export async function recordsWithKey(store: Store, key: string): Promise<unknown[]> {
  const { resources } = await store
    .container('toolCalls')
    .items.query({ query: 'SELECT * FROM c WHERE c.idempotencyKey = @k', parameters: [{ name: '@k', value: key }] })
    .fetchAll();
  return resources;
}

/** After the tests: the queues closed, every key under the run's `prefix` deleted, the peers let go. */
export async function closeIntakePeers(peers: { queues: BrokerQueues; redis: Redis; store: Store; prefix: string }) {
  await peers.queues.close();
  const keys = await peers.redis.keys(`${peers.prefix}*`);
  if (keys.length) await peers.redis.del(...keys);
  peers.redis.disconnect();
  await peers.store.close();
}

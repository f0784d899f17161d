/**
 * Contract test against a real Event Grid custom topic (CloudEvents input schema): runs only when
 * EVENT_GRID_ENDPOINT (https://<topic>.<region>-1.eventgrid.azure.net/api/events) and
 * EVENT_GRID_KEY (an access key of the topic) are set, and is skipped otherwise. It checks that
 * what the sandbox accepts the service accepts too, and that a wrong key is refused the same way.
 */
import { eventGridTopicSchema } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { EventGridTargetHandler } from './target/event-grid-target.ts';

const endpoint = process.env.EVENT_GRID_ENDPOINT;
const key = process.env.EVENT_GRID_KEY;

const now = new Date().toISOString();
const record: ToolCallRecord = {
  id: `tc_contract_${Date.now()}`,
  caller: 'contract-test',
  endpoint: 'none',
  tool: 'generate_contract',
  fingerprint: 'contract',
  idempotencyKey: `contract-${Date.now()}`,
  arguments: {},
  source: { kind: 'api' },
  correlation: { requestId: 'contract-test' },
  status: 'succeeded',
  history: [],
  result: { ok: true },
  attempts: 1,
  deliveries: [],
  createdAt: now,
  updatedAt: now,
  completedAt: now,
};

describe.skipIf(!endpoint || !key)(
  'contract: a real Event Grid custom topic (EVENT_GRID_ENDPOINT, EVENT_GRID_KEY)',
  () => {
    const topic = () =>
      eventGridTopicSchema.parse({
        id: 'contract',
        kind: 'topic',
        endpoint,
        credential: { type: 'access-key', key: { fromEnv: 'EVENT_GRID_KEY' } },
        callers: ['contract-test'],
      });
    const target = { type: 'event-grid' as const, topic: 'contract' };
    const context = { record, targetIndex: 0, signal: AbortSignal.timeout(30_000) };

    it('accepts the outcome CloudEvent the target publishes', async () => {
      const handler = new EventGridTargetHandler({ topics: [topic()], env: { EVENT_GRID_KEY: key } });
      expect(await handler.deliver(target, context)).toMatchObject({ eventType: 'com.mcp-broker.toolcall.succeeded' });
    });

    it('refuses a wrong key with 401, which the target records as final EVENT_GRID_UNAUTHORIZED', async () => {
      const handler = new EventGridTargetHandler({
        topics: [topic()],
        env: { EVENT_GRID_KEY: Buffer.from('wrong').toString('base64') },
      });
      await expect(handler.deliver(target, context)).rejects.toMatchObject({
        kind: 'permanent',
        code: 'EVENT_GRID_UNAUTHORIZED',
      });
    });
  },
);

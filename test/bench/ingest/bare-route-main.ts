/**
 * Ingest benchmark child: the baseline, a bare Fastify route that does only what a submission must
 * do to be durable: create the same tool-call record in the same store (`ToolCallRepository.create`)
 * and add the same BullMQ job (`BrokerQueues.enqueueToolCall`, carrying the record and its ETag as
 * intake does), then answer 202. No authentication, validation, idempotency lock, request log or
 * OpenAPI schema: what ingress spends beyond this route is the price of those.
 * Env: BENCH_COSMOS_ENDPOINT, BENCH_COSMOS_KEY, BENCH_DATABASE, BENCH_REDIS_URL, BENCH_REDIS_PREFIX,
 * BENCH_CALLER, BENCH_ENDPOINT.
 */
import { BrokerQueues, MAX_CARRIED_RECORD_CHARS, ToolCallRepository } from '@mcp-broker/broker';
import type { ToolCallRequest } from '@mcp-broker/contracts';
import { createStore } from '@mcp-broker/store';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { announceReady, requiredEnv, serveParent } from '../mcp/ipc.ts';

const caller = requiredEnv('BENCH_CALLER');
const endpoint = requiredEnv('BENCH_ENDPOINT');
const store = await createStore({
  endpoint: requiredEnv('BENCH_COSMOS_ENDPOINT'),
  key: requiredEnv('BENCH_COSMOS_KEY'),
  databaseId: requiredEnv('BENCH_DATABASE'),
});
const redis = new Redis(requiredEnv('BENCH_REDIS_URL'), { maxRetriesPerRequest: 2 });
const repository = new ToolCallRepository({ store });
const queues = new BrokerQueues({ connection: redis, prefix: requiredEnv('BENCH_REDIS_PREFIX') });

const app = Fastify({ logger: false });
app.post('/v1/tool-calls', async (request, reply) => {
  const body = request.body as { tool: string; arguments?: Record<string, unknown> };
  const toolCall: ToolCallRequest = {
    tool: body.tool,
    arguments: body.arguments ?? {},
    writeBack: [],
    idempotencyKey: String(request.headers['idempotency-key']),
    source: { kind: 'api' },
    correlation: { requestId: request.id },
  };
  const outcome = await repository.create(caller, endpoint, toolCall);
  const { record } = outcome;
  const etag =
    outcome.kind === 'created' && JSON.stringify(record).length <= MAX_CARRIED_RECORD_CHARS
      ? repository.etagOf(record)
      : undefined;
  await queues.enqueueToolCall({ callId: record.id, caller, ...(etag ? { created: { record, etag } } : {}) });
  reply.status(outcome.kind === 'created' ? 202 : 200);
  return { id: record.id, status: record.status };
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });

serveParent({}, async () => {
  await app.close();
  await queues.close();
  redis.disconnect();
  await store.close();
});
announceReady({ url, pid: process.pid });

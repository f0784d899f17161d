import {
  apiErrorSchema,
  createToolCallBodySchema,
  deadLetterListSchema,
  replayDeadLettersBodySchema,
  replayDeadLettersResultSchema,
  toolCallAcceptedSchema,
  toolCallListSchema,
  toolCallStatusSchema,
  toolCallViewSchema,
  wireOnly,
} from '@mcp-broker/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ToolCallService } from '../tool-call-service.ts';
import { toToolCallView } from '../tool-call-view.ts';

const idParams = z.object({ id: z.string().max(100).describe('Tool call id (tc_…).') });
// Every operation can meet these; the error body is the same for all (docs/errors.md).
const errors = {
  400: apiErrorSchema,
  401: apiErrorSchema,
  403: apiErrorSchema,
  404: apiErrorSchema,
  500: apiErrorSchema.describe('Unexpected error; retry, and report the requestId if it persists.'),
  503: apiErrorSchema.describe('The store or Redis is unavailable; retry after the Retry-After header.'),
};

/** The asynchronous tool-call API (docs/async-api.md). */
export function registerToolCallRoutes(
  scope: FastifyInstance,
  service: ToolCallService,
  publicUrl: () => string,
): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.post(
    '/v1/tool-calls',
    {
      schema: {
        operationId: 'submitToolCall',
        summary: 'Submit a tool call; answers 202 at once',
        tags: ['tool-calls'],
        description:
          'Send the Idempotency-Key header or body.idempotencyKey (one value per logical call). The 202 answer carries the Location header and, for clients that ignore response headers such as Salesforce External Services, the same URL as statusUrl.',
        headers: z.object({
          // Hyphenated, so External Services would rename it: the document offers body.idempotencyKey.
          'idempotency-key': wireOnly(z.string().min(1).max(255).optional()),
        }),
        body: createToolCallBodySchema,
        response: {
          200: toolCallAcceptedSchema.describe('The same key and body were submitted before: the existing call.'),
          202: toolCallAcceptedSchema,
          ...errors,
          409: apiErrorSchema,
          413: apiErrorSchema.describe('The body exceeds the limit named in the message.'),
          415: apiErrorSchema.describe('Send Content-Type: application/json.'),
          422: apiErrorSchema,
          502: apiErrorSchema.describe("The MCP endpoint's tool list could not be read to check the arguments."),
        },
      },
    },
    async (request, reply) => {
      const { created, record } = await service.submit(
        request.caller,
        request.body,
        request.headers['idempotency-key'],
        {
          requestId: request.id,
          ...(typeof request.headers.traceparent === 'string' ? { traceparent: request.headers.traceparent } : {}),
        },
      );
      const statusUrl = `${publicUrl()}/v1/tool-calls/${record.id}`;
      reply.status(created ? 202 : 200).header('location', statusUrl);
      return { id: record.id, status: record.status, statusUrl };
    },
  );

  app.get(
    '/v1/tool-calls/:id',
    {
      schema: {
        operationId: 'getToolCall',
        summary: 'Status, progress, result and deliveries of a call',
        tags: ['tool-calls'],
        params: idParams,
        querystring: z.object({
          wait: z.coerce
            .number()
            .int()
            .min(0)
            .max(100)
            .optional()
            .describe('Hold the request up to this many seconds until the call is final (max 100).'),
        }),
        response: { 200: toolCallViewSchema, ...errors },
      },
    },
    async (request, reply) => {
      // Stop polling for a caller that hung up (an Apex callout that timed out).
      const gone = new AbortController();
      reply.raw.on('close', () => gone.abort());
      const record = request.query.wait
        ? await service.wait(request.caller, request.params.id, request.query.wait, gone.signal)
        : await service.get(request.caller, request.params.id);
      return toToolCallView(record);
    },
  );

  app.post(
    '/v1/tool-calls/:id/cancel',
    {
      schema: {
        operationId: 'cancelToolCall',
        summary: 'Cancel a queued or running call',
        tags: ['tool-calls'],
        params: idParams,
        response: { 200: toolCallViewSchema, ...errors, 409: apiErrorSchema },
      },
    },
    async (request) => toToolCallView(await service.cancel(request.caller, request.params.id)),
  );

  app.get(
    '/v1/tool-calls',
    {
      schema: {
        operationId: 'listToolCalls',
        summary: "The caller's own calls, newest first",
        tags: ['tool-calls'],
        querystring: z.object({
          status: toolCallStatusSchema.optional(),
          tool: z.string().max(128).optional(),
          pageSize: z.coerce.number().int().min(1).max(100).optional().describe('Calls per page, 1–100 (default 20).'),
          limit: wireOnly(z.coerce.number().int().min(1).max(100).optional()),
          pageToken: z.string().max(4096).optional(),
        }),
        response: { 200: toolCallListSchema, ...errors },
      },
    },
    async (request) => {
      const { pageSize, limit, ...filter } = request.query;
      const page = await service.list(request.caller, { ...filter, limit: pageSize ?? limit ?? 20 });
      return {
        items: page.items.map(toToolCallView),
        ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      };
    },
  );

  app.get(
    '/v1/dead-letters',
    {
      schema: {
        operationId: 'listDeadLetters',
        summary: 'Calls that exhausted their retries, newest first (admin)',
        tags: ['dead-letters'],
        querystring: z.object({
          caller: z.string().max(63).optional().describe("Only this caller's dead letters."),
          pageSize: z.coerce.number().int().min(1).max(200).optional().describe('Calls per page, 1–200 (default 50).'),
          limit: wireOnly(z.coerce.number().int().min(1).max(200).optional()),
          pageToken: z.string().max(4096).optional(),
        }),
        response: { 200: deadLetterListSchema, ...errors },
      },
    },
    async (request) => {
      const page = await service.deadLetters(request.caller, {
        limit: request.query.pageSize ?? request.query.limit ?? 50,
        ...(request.query.caller ? { ofCaller: request.query.caller } : {}),
        ...(request.query.pageToken ? { pageToken: request.query.pageToken } : {}),
      });
      return {
        items: page.items.map((r) => ({ ...toToolCallView(r), caller: r.caller })),
        ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      };
    },
  );

  app.post(
    '/v1/dead-letters/replay',
    {
      schema: {
        operationId: 'replayDeadLetters',
        summary: "Queue a caller's dead-lettered calls again, up to limit per request (admin)",
        tags: ['dead-letters'],
        body: replayDeadLettersBodySchema,
        response: { 200: replayDeadLettersResultSchema, ...errors },
      },
    },
    async (request) => {
      const outcome = await service.replayAll(request.caller, {
        ofCaller: request.body.caller,
        limit: request.body.maxCalls,
        ...(request.body.before ? { before: request.body.before } : {}),
      });
      return {
        replayed: outcome.replayed.length,
        skipped: outcome.skipped.length,
        replayedIds: outcome.replayed,
        more: outcome.more,
        before: outcome.before,
      };
    },
  );

  app.post(
    '/v1/dead-letters/:id/replay',
    {
      schema: {
        operationId: 'replayDeadLetter',
        summary: 'Queue a dead-lettered call again (admin)',
        tags: ['dead-letters'],
        params: idParams,
        response: { 202: toolCallViewSchema, ...errors, 409: apiErrorSchema },
      },
    },
    async (request, reply) => {
      reply.status(202);
      return toToolCallView(await service.replay(request.caller, request.params.id));
    },
  );
}

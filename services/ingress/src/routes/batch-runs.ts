import { type BatchRunService, toBatchRunView } from '@mcp-broker/batch';
import {
  apiErrorSchema,
  batchRunAcceptedSchema,
  batchRunViewSchema,
  scheduleListSchema,
  startBatchRunBodySchema,
  wireOnly,
} from '@mcp-broker/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const scheduleParams = z.object({ id: z.string().max(100).describe('Schedule id from the broker configuration.') });
const runParams = z.object({ id: z.string().max(100).describe('Batch run id (br_…).') });
const errors = {
  400: apiErrorSchema,
  401: apiErrorSchema,
  403: apiErrorSchema,
  404: apiErrorSchema,
  500: apiErrorSchema.describe('Unexpected error; retry, and report the requestId if it persists.'),
  503: apiErrorSchema.describe('The store or Redis is unavailable; retry after the Retry-After header.'),
};

/** The batch enrichment API (docs/batch-enrichment.md): a caller's own schedules and runs only. */
export function registerBatchRunRoutes(
  scope: FastifyInstance,
  service: BatchRunService,
  publicUrl: () => string,
): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/v1/schedules',
    {
      schema: {
        operationId: 'listSchedules',
        summary: "The caller's batch schedules, each with its next and last run",
        tags: ['batch'],
        response: { 200: scheduleListSchema, ...errors },
      },
    },
    async (request) => ({ items: await service.listSchedules(request.caller) }),
  );

  app.post(
    '/v1/schedules/:id/runs',
    {
      schema: {
        operationId: 'startBatchRun',
        summary: 'Start a run of the schedule now; answers 202 at once',
        tags: ['batch'],
        description:
          'Send the Idempotency-Key header or body.idempotencyKey (one value per start): the same key again answers the same run (200).',
        params: scheduleParams,
        headers: z.object({ 'idempotency-key': wireOnly(z.string().min(1).max(255).optional()) }),
        body: startBatchRunBodySchema,
        response: {
          200: batchRunAcceptedSchema.describe('This key started a run before: that run.'),
          202: batchRunAcceptedSchema,
          ...errors,
          409: apiErrorSchema.describe('The schedule is disabled, or a run of it is still going (overlap: skip).'),
        },
      },
      // The body is optional (the key may come as a header): no body reads as an empty one.
      preValidation: async (request) => {
        if (request.body === null || request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const { created, run } = await service.startRun(
        request.caller,
        request.params.id,
        request.headers['idempotency-key'] ?? request.body.idempotencyKey,
        request.id,
      );
      const statusUrl = `${publicUrl()}/v1/batch-runs/${run.id}`;
      reply.status(created ? 202 : 200).header('location', statusUrl);
      return { id: run.id, status: run.status, statusUrl };
    },
  );

  app.get(
    '/v1/batch-runs/:id',
    {
      schema: {
        operationId: 'getBatchRun',
        summary: 'Counts, progress and summary of a batch run',
        tags: ['batch'],
        params: runParams,
        response: { 200: batchRunViewSchema, ...errors },
      },
    },
    async (request) => toBatchRunView(await service.getRun(request.caller, request.params.id), publicUrl()),
  );

  app.post(
    '/v1/batch-runs/:id/cancel',
    {
      schema: {
        operationId: 'cancelBatchRun',
        summary: 'Cancel a batch run: no more records are selected, calls not started are cancelled',
        tags: ['batch'],
        params: runParams,
        response: { 200: batchRunViewSchema, ...errors, 409: apiErrorSchema },
      },
    },
    async (request) => toBatchRunView(await service.cancel(request.caller, request.params.id), publicUrl()),
  );
}

import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { CallerConfig } from '@mcp-broker/broker-config';
import { BrokerError, isBrokerError } from '@mcp-broker/contracts';
import { errorBody } from '@mcp-broker/runtime';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallerAuthenticator } from '../caller-authenticator.ts';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboardOptions {
  /** The queues shown: each caller's tool-call queue, the write-back queue. */
  queues: readonly Queue[];
  /** Every configured caller, to know whether anyone may act (else the board is built read-only). */
  callers: readonly CallerConfig[];
}

const readMethods = new Set(['GET', 'HEAD']);

/**
 * Bull Board at /admin/queues, for admin callers only (401 without credentials, 403 for a caller
 * that is not an admin). An admin sees a read-only board unless its `queueActions` is true: the
 * board is the one shared instance, so the per-caller view is enforced here, by refusing every
 * non-read request and by marking the queues read-only in what the UI loads.
 */
export async function registerQueueDashboard(
  app: FastifyInstance,
  authenticator: CallerAuthenticator,
  options: QueueDashboardOptions,
): Promise<void> {
  const anyoneActs = options.callers.some((c) => c.admin && c.queueActions);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: !anyoneActs })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'mcp-broker queues' } },
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const refusal = await admit(authenticator, request);
      if (refusal) return refuse(request, reply, refusal);
      const caller = (request as DashboardRequest).dashboardCaller;
      if (!readMethods.has(request.method) && !caller?.queueActions) {
        return refuse(
          request,
          reply,
          new BrokerError(
            'BROKER_ADMIN_REQUIRED',
            `Caller "${caller?.id}" may view the queue dashboard but not act on it (set queueActions: true on the caller).`,
          ),
        );
      }
    });
    // The UI greys out retry, remove and promote from these flags.
    scope.addHook('preSerialization', async (request, _reply, payload: unknown) => {
      if ((request as DashboardRequest).dashboardCaller?.queueActions) return payload;
      const queues = (payload as { queues?: unknown } | null)?.queues;
      if (!Array.isArray(queues)) return payload;
      return {
        ...(payload as object),
        queues: queues.map((q) => ({ ...q, readOnlyMode: true, allowRetries: false, allowCompletedRetries: false })),
      };
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
  });
}

type DashboardRequest = FastifyRequest & { dashboardCaller?: CallerConfig };

async function admit(authenticator: CallerAuthenticator, request: FastifyRequest): Promise<BrokerError | undefined> {
  let caller: CallerConfig;
  try {
    caller = await authenticator.authenticate(request.headers.authorization, { clientAddress: request.ip });
  } catch (err) {
    if (!isBrokerError(err)) throw err;
    return err;
  }
  if (!caller.admin) return new BrokerError('BROKER_ADMIN_REQUIRED', `Caller "${caller.id}" is not an admin.`);
  (request as DashboardRequest).dashboardCaller = caller;
  request.log = request.log.child({ caller: caller.id });
  return undefined;
}

function refuse(request: FastifyRequest, reply: FastifyReply, err: BrokerError): FastifyReply {
  request.log.info({ code: err.code }, err.message);
  // A browser shows its login prompt on a Basic challenge: how an operator signs in.
  if (err.status === 401) reply.header('www-authenticate', 'Basic realm="mcp-broker admin", Bearer realm="mcp-broker"');
  return reply.code(err.status).headers(err.headers).send(errorBody(err, request.id));
}

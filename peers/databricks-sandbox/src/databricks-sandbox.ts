/**
 * A local stand-in for one Databricks workspace, close enough to the documented shapes and errors
 * for the broker's clients: the OAuth M2M token endpoint, Jobs API 2.2 `runs/get` (task runs paged
 * above 100 with `next_page_token`) and `runs/get-output` (per task run, `truncated` past 5 MB),
 * the SQL Statement Execution API over in-memory Delta tables (asynchronous statements, named
 * parameters), fault injection, and job-notification webhooks fired at a URL as a workspace's
 * notification destination would. See README.md for what it covers and where the docs are silent.
 */

import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import {
  credentialsMissing,
  invalidParameter,
  invalidToken,
  notFound,
  type Refusal,
  refusal,
  requestLimitExceeded,
  serverError,
} from './databricks-errors.ts';
import { DeltaTables, type Row } from './delta-tables.ts';
import { type DatabricksFaults, FaultInjector } from './fault-injection.ts';
import {
  decodePageToken,
  JobRuns,
  outputView,
  type RunSpec,
  runView,
  type StoredRun,
  taskRunAsRunView,
} from './job-runs.ts';
import type { StatementParameter } from './sql-interpreter.ts';
import { SqlStatements, type StatementTimings, statementView } from './sql-statements.ts';
import { issueToken } from './token-endpoint.ts';
import { TokenStore } from './token-store.ts';
import {
  type JobEventType,
  type NotificationOptions,
  notificationPayload,
  postWebhook,
  type WebhookCredentials,
} from './webhook-notification.ts';

export interface DatabricksSandboxOptions {
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default `1234567890123456`. */
  workspaceId?: string;
  /** The service principal's OAuth client id. Default `sandbox-sp-client-id`. */
  clientId?: string;
  /** Its OAuth secret. Default `sandbox-sp-secret`. */
  clientSecret?: string;
  /** Personal access tokens always accepted. Default `['dapi-sandbox-token']`. */
  personalAccessTokens?: string[];
  /** Lifetime of issued OAuth tokens (`expires_in`). Default 3600 s, as Databricks issues them. */
  tokenLifetimeSeconds?: number;
  /** The SQL warehouses that exist. Default `['sandbox-warehouse']`. */
  warehouseIds?: string[];
  /** Bytes of notebook output `runs/get-output` returns before `truncated`. Default 5 MB. */
  outputLimitBytes?: number;
  statementTimings?: StatementTimings;
  now?: () => Date;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The path with its query string. */
  url: string;
  status: number;
}

export interface DatabricksSandbox {
  /** `https://<workspace>` for clients: here `http://127.0.0.1:<port>`. */
  host: string;
  workspaceId: string;
  clientId: string;
  clientSecret: string;
  personalAccessToken: string;
  warehouseId: string;
  /** Stores a finished job run (one task run per task) and returns it with its run ids. */
  addRun(spec: RunSpec): StoredRun;
  /** Creates an (empty) Delta table with these columns; names default to `main.default.`. */
  createTable(name: string, columns: string[]): void;
  /** The rows of a table (copies). */
  rows(name: string): Row[];
  /** Every statement text and its parameters, as submitted. */
  statements(): { text: string; parameters: StatementParameter[] }[];
  /** Every API request answered, in order. */
  requests: RecordedRequest[];
  /** The JSON a notification destination would send for this event. */
  notificationPayload(eventType: JobEventType, runId: number, options?: NotificationOptions): Record<string, unknown>;
  /** Fires the webhook at `url` as a notification destination does (Basic credentials, JSON body). */
  fireWebhook(
    url: string,
    body: Record<string, unknown> | string,
    credentials?: WebhookCredentials,
  ): Promise<{ status: number; body: string }>;
  faults: DatabricksFaults;
  close(): Promise<void>;
}

const WAIT_TIMEOUT = /^(\d+)s$/;

export async function startDatabricksSandbox(options: DatabricksSandboxOptions = {}): Promise<DatabricksSandbox> {
  const now = options.now ?? (() => new Date());
  const workspaceId = options.workspaceId ?? '1234567890123456';
  const clientId = options.clientId ?? 'sandbox-sp-client-id';
  const clientSecret = options.clientSecret ?? 'sandbox-sp-secret';
  const personal = options.personalAccessTokens ?? ['dapi-sandbox-token'];
  const warehouses = new Set(options.warehouseIds ?? ['sandbox-warehouse']);
  const outputLimitBytes = options.outputLimitBytes ?? 5 * 1024 * 1024;
  const tokens = new TokenStore(personal, now);
  const faults = new FaultInjector();
  const runs = new JobRuns(now);
  const tables = new DeltaTables();
  const statements = new SqlStatements(tables, faults, options.statementTimings);
  const requests: RecordedRequest[] = [];
  let origin = '';

  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );
  const send = (reply: FastifyReply, r: Refusal) =>
    reply
      .status(r.status)
      .headers(r.headers ?? {})
      .send(r.body);

  app.addHook('onResponse', async (request, reply) => {
    requests.push({
      method: request.method,
      path: request.url.split('?')[0] ?? '',
      url: request.url,
      status: reply.statusCode,
    });
  });
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const slow = faults.takeSlow(path);
    if (slow) await new Promise((resolve) => setTimeout(resolve, slow.delayMs));
    const limited = faults.takeRateLimit(path);
    if (limited) return send(reply, requestLimitExceeded(limited.retryAfterSeconds ?? 1));
    const failing = faults.takeServerError(path);
    if (failing) return send(reply, serverError(failing.status ?? 503));
    if (path.startsWith('/api/')) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      if (!bearer?.[1]) return send(reply, credentialsMissing());
      if (!tokens.isValid(bearer[1])) return send(reply, invalidToken());
    }
    return undefined;
  });

  app.post('/oidc/v1/token', async (request, reply) => {
    const form = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    const issued = issueToken(
      { clientId, clientSecret, tokens, lifetimeSeconds: options.tokenLifetimeSeconds ?? 3600 },
      form,
      request.headers.authorization,
    );
    reply.header('cache-control', 'no-store');
    return issued.ok ? issued.body : send(reply, issued.refusal);
  });

  const runIdOf = (request: FastifyRequest): number | Refusal => {
    const raw = (request.query as Record<string, unknown>).run_id;
    if (raw === undefined || raw === '') return invalidParameter('Missing required field: run_id');
    if (typeof raw !== 'string' || !/^\d{1,19}$/.test(raw)) return invalidParameter(`Invalid run_id: ${String(raw)}`);
    return Number(raw);
  };
  const runMissing = (runId: number) => invalidParameter(`Run ${runId} does not exist.`);

  app.get('/api/2.2/jobs/runs/get', async (request, reply) => {
    const runId = runIdOf(request);
    if (typeof runId !== 'number') return send(reply, runId);
    const run = runs.run(runId);
    if (run) {
      const token = (request.query as Record<string, unknown>).page_token;
      if (token === undefined || token === '') return runView(origin, run, 0);
      const offset = typeof token === 'string' ? decodePageToken(token, runId) : undefined;
      if (offset === undefined) return send(reply, invalidParameter(`Invalid page_token: ${String(token)}`));
      return runView(origin, run, offset);
    }
    const task = runs.taskRun(runId);
    if (task) return taskRunAsRunView(origin, task.parent, task.task);
    return send(reply, runMissing(runId));
  });

  app.get('/api/2.2/jobs/runs/get-output', async (request, reply) => {
    const runId = runIdOf(request);
    if (typeof runId !== 'number') return send(reply, runId);
    const run = runs.run(runId);
    if (run) {
      if (run.tasks.length > 1) {
        return send(
          reply,
          invalidParameter(
            'Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.',
          ),
        );
      }
      return outputView(origin, run, run.tasks[0] as StoredRun['tasks'][number], outputLimitBytes);
    }
    const task = runs.taskRun(runId);
    if (task) return outputView(origin, task.parent, task.task, outputLimitBytes);
    return send(reply, runMissing(runId));
  });

  app.post('/api/2.0/sql/statements', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body.statement !== 'string' || body.statement.trim() === '') {
      return send(reply, invalidParameter('statement is required'));
    }
    if (typeof body.warehouse_id !== 'string' || body.warehouse_id === '') {
      return send(reply, invalidParameter('warehouse_id is required'));
    }
    if (!warehouses.has(body.warehouse_id)) {
      return send(reply, notFound(`Warehouse ${body.warehouse_id} does not exist.`));
    }
    const waitTimeout = body.wait_timeout ?? '10s';
    const seconds = typeof waitTimeout === 'string' ? WAIT_TIMEOUT.exec(waitTimeout) : null;
    const waitSeconds = seconds ? Number(seconds[1]) : Number.NaN;
    if (!(waitSeconds === 0 || (waitSeconds >= 5 && waitSeconds <= 50))) {
      return send(
        reply,
        invalidParameter(`wait_timeout must be 0s or between 5s and 50s, got ${JSON.stringify(waitTimeout)}`),
      );
    }
    const onWaitTimeout = body.on_wait_timeout ?? 'CONTINUE';
    if (onWaitTimeout !== 'CONTINUE' && onWaitTimeout !== 'CANCEL') {
      return send(reply, invalidParameter(`on_wait_timeout must be CONTINUE or CANCEL`));
    }
    const parameters = body.parameters ?? [];
    if (!Array.isArray(parameters)) return send(reply, invalidParameter('parameters must be a list'));
    for (const p of parameters as unknown[]) {
      const item = p as Record<string, unknown> | null;
      if (!item || typeof item.name !== 'string' || item.name === '') {
        return send(reply, invalidParameter('every parameter needs a name'));
      }
      if (item.value !== undefined && item.value !== null && typeof item.value !== 'string') {
        return send(reply, invalidParameter(`parameter ${item.name}: value must be a string`));
      }
    }
    const statement = statements.submit({
      text: body.statement,
      parameters: parameters as StatementParameter[],
      catalog: typeof body.catalog === 'string' ? body.catalog.toLowerCase() : 'main',
      schema: typeof body.schema === 'string' ? body.schema.toLowerCase() : 'default',
    });
    await statements.waitFor(statement, waitSeconds * 1000);
    if (waitSeconds > 0 && onWaitTimeout === 'CANCEL') statements.cancel(statement);
    return statementView(statement);
  });

  app.get('/api/2.0/sql/statements/:id', async (request, reply) => {
    const statement = statements.get((request.params as { id: string }).id);
    if (!statement) return send(reply, notFound(`Statement ${(request.params as { id: string }).id} not found.`));
    return statementView(statement);
  });

  app.post('/api/2.0/sql/statements/:id/cancel', async (request, reply) => {
    const statement = statements.get((request.params as { id: string }).id);
    if (!statement) return send(reply, notFound(`Statement ${(request.params as { id: string }).id} not found.`));
    statements.cancel(statement);
    return {};
  });

  app.setNotFoundHandler(async (request, reply) =>
    send(
      reply,
      refusal(404, 'ENDPOINT_NOT_FOUND', `No API found for '${request.method} ${request.url.split('?')[0]}'`),
    ),
  );
  app.setErrorHandler(async (error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    return send(reply, refusal(status, status === 400 ? 'MALFORMED_REQUEST' : 'INTERNAL_ERROR', error.message));
  });

  origin = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });

  const runOf = (runId: number) => {
    const run = runs.run(runId);
    if (!run) throw new Error(`no run ${runId} in the sandbox`);
    return run;
  };

  return {
    host: origin,
    workspaceId,
    clientId,
    clientSecret,
    personalAccessToken: personal[0] ?? '',
    warehouseId: [...warehouses][0] ?? '',
    addRun: (spec) => runs.add(spec),
    createTable: (name, columns) => {
      tables.create(name, columns);
    },
    rows: (name) => {
      const table = tables.get(name.includes('.') ? name.toLowerCase() : `main.default.${name.toLowerCase()}`);
      if (!table) throw new Error(`no table ${name} in the sandbox`);
      return table.rows.map((row) => ({ ...row }));
    },
    statements: () => statements.submitted.map(({ text, parameters }) => ({ text, parameters })),
    requests,
    notificationPayload: (eventType, runId, notification) =>
      notificationPayload(workspaceId, eventType, runOf(runId), notification),
    fireWebhook: postWebhook,
    faults: {
      rateLimit: (fault) => faults.rateLimit(fault),
      serverError: (fault) => faults.serverError(fault),
      slow: (fault) => faults.slow(fault),
      failStatements: (fault) => faults.failStatements(fault),
      expireTokens: () => tokens.expireAll(),
      clear: () => faults.clear(),
    },
    async close() {
      statements.close();
      await app.close();
    },
  };
}

import { DeliveryError } from '@mcp-broker/broker';
import { z } from 'zod';
import { clip } from './databricks-api-error.ts';
import type { DatabricksWorkspace } from './databricks-workspace.ts';

/** A named parameter marker's value (`:name` in the statement). Values are always sent as strings or null. */
export interface StatementParameter {
  name: string;
  value: string | null;
  /** STRING unless given (TIMESTAMP, BOOLEAN, INT…). */
  type?: string;
}

const statementSchema = z.looseObject({
  statement_id: z.string(),
  status: z.looseObject({
    state: z.enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED']),
    error: z.looseObject({ error_code: z.string().optional(), message: z.string().optional() }).optional(),
  }),
  manifest: z
    .looseObject({
      schema: z.looseObject({ columns: z.array(z.looseObject({ name: z.string() })).optional() }).optional(),
    })
    .optional(),
  result: z.looseObject({ data_array: z.array(z.array(z.string().nullable())).optional() }).optional(),
});
type StatementResponse = z.infer<typeof statementSchema>;

export interface StatementOutcome {
  statementId: string;
  /** The first result row by column name (for a MERGE: num_affected_rows, num_inserted_rows…). */
  row: Record<string, string | null>;
}

export interface ExecuteOptions {
  warehouseId: string;
  statement: string;
  parameters: StatementParameter[];
  signal: AbortSignal;
  /** How long the first request waits for the statement (0, or 5–50 s). Default 5: it must leave an inline delivery attempt (10 s by default) room to poll. */
  waitTimeoutSeconds?: number;
  /** First poll interval; doubles up to 2 s. Default 100 ms. */
  pollIntervalMs?: number;
}

// Delta's optimistic concurrency: a MERGE that lost to another write succeeds when run again.
const CONFLICT = /\[DELTA_CONCURRENT_[A-Z_]*\]|ConcurrentAppendException|ConcurrentModificationException/;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Runs one statement through the Statement Execution API: `POST /api/2.0/sql/statements` with
 * named parameters (`on_wait_timeout: CONTINUE`), then `GET …/{id}` until the state is final.
 * `SUCCEEDED` answers the first row; `FAILED` throws `DATABRICKS_STATEMENT_FAILED` (final) with the
 * statement's error, or `DATABRICKS_STATEMENT_CONFLICT` (transient) for a Delta concurrency
 * conflict; `CANCELED`/`CLOSED` throw `DATABRICKS_STATEMENT_CANCELED` (transient). When `signal`
 * aborts while the statement runs, the attempt is given up as transient and unconfirmed: the
 * statement may still complete.
 */
export async function executeStatement(
  workspace: DatabricksWorkspace,
  options: ExecuteOptions,
): Promise<StatementOutcome> {
  const { signal } = options;
  const submitted = parse(
    await workspace.request('POST', '/api/2.0/sql/statements', {
      body: {
        warehouse_id: options.warehouseId,
        statement: options.statement,
        parameters: options.parameters.map((p) => ({
          name: p.name,
          value: p.value,
          ...(p.type ? { type: p.type } : {}),
        })),
        wait_timeout: `${options.waitTimeoutSeconds ?? 5}s`,
        on_wait_timeout: 'CONTINUE',
        format: 'JSON_ARRAY',
        disposition: 'INLINE',
      },
      signal,
      what: `statement on warehouse ${options.warehouseId}`,
    }),
  );
  let current = submitted;
  let interval = options.pollIntervalMs ?? 100;
  while (current.status.state === 'PENDING' || current.status.state === 'RUNNING') {
    await sleep(interval, signal);
    if (signal.aborted) {
      throw new DeliveryError(
        'transient',
        'DATABRICKS_TIMEOUT',
        `Statement ${current.statement_id} was still ${current.status.state} when the delivery ran out of time; it may still complete.`,
        undefined,
        { unconfirmed: true },
      );
    }
    interval = Math.min(2000, interval * 2);
    current = parse(
      await workspace.request('GET', `/api/2.0/sql/statements/${encodeURIComponent(current.statement_id)}`, {
        signal,
        what: `status of statement ${current.statement_id}`,
      }),
    );
  }
  return settle(current);
}

function parse(value: unknown): StatementResponse {
  const result = statementSchema.safeParse(value);
  if (result.success) return result.data;
  throw new DeliveryError(
    'transient',
    'DATABRICKS_UNAVAILABLE',
    'The Statement Execution API answered something that is not a statement.',
  );
}

function settle(statement: StatementResponse): StatementOutcome {
  const { state, error } = statement.status;
  if (state === 'SUCCEEDED') {
    const columns = statement.manifest?.schema?.columns?.map((c) => c.name) ?? [];
    const first = statement.result?.data_array?.[0] ?? [];
    return {
      statementId: statement.statement_id,
      row: Object.fromEntries(columns.map((c, i) => [c, first[i] ?? null])),
    };
  }
  const reason = clip(`${error?.error_code ?? 'UNKNOWN'}: ${error?.message ?? 'no message'}`);
  if (state === 'FAILED') {
    if (CONFLICT.test(error?.message ?? '')) {
      return thrown(
        new DeliveryError(
          'transient',
          'DATABRICKS_STATEMENT_CONFLICT',
          `Statement ${statement.statement_id} FAILED: ${reason}`,
        ),
      );
    }
    return thrown(
      new DeliveryError(
        'permanent',
        'DATABRICKS_STATEMENT_FAILED',
        `Statement ${statement.statement_id} FAILED: ${reason}`,
      ),
    );
  }
  return thrown(
    new DeliveryError(
      'transient',
      'DATABRICKS_STATEMENT_CANCELED',
      `Statement ${statement.statement_id} ended ${state} before it finished.`,
    ),
  );
}

function thrown(error: DeliveryError): never {
  throw error;
}

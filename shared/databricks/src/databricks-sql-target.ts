import { type DeliveryContext, DeliveryError, type WriteBackTargetHandler } from '@mcp-broker/broker';
import type { DatabricksSqlTarget, ToolCallRecord } from '@mcp-broker/contracts';
import type { DatabricksWorkspace } from './databricks-workspace.ts';
import type { DatabricksWorkspaces } from './databricks-workspaces.ts';
import { executeStatement, type StatementParameter } from './statement-execution.ts';

/** The Delta table's columns, in order (docs/databricks.md gives the CREATE TABLE). */
export const RESULT_COLUMNS = [
  'call_id',
  'idempotency_key',
  'caller',
  'tool',
  'status',
  'result',
  'error_code',
  'error_message',
  'source',
  'completed_at',
] as const;

/**
 * One MERGE keyed by the call id, every value (and the table name, through `IDENTIFIER`) a named
 * parameter marker: nothing from a result is ever written into the statement text. A repeated
 * delivery updates the row it wrote before, so a retried delivery leaves one row.
 */
export const MERGE_STATEMENT = [
  'MERGE INTO IDENTIFIER(:target_table) AS t',
  `USING (SELECT ${RESULT_COLUMNS.map((c) => `:${c} AS ${c}`).join(', ')}) AS s`,
  'ON t.call_id = s.call_id',
  'WHEN MATCHED THEN UPDATE SET *',
  'WHEN NOT MATCHED THEN INSERT *',
].join('\n');

export interface DatabricksSqlReceipt extends Record<string, unknown> {
  workspace: string;
  table: string;
  statementId: string;
  /** True when the MERGE inserted the row, false when it updated the row of an earlier delivery. */
  inserted: boolean;
}

export interface DatabricksSqlOptions {
  workspaces: DatabricksWorkspaces | ((id: string) => DatabricksWorkspace | undefined);
  /** How long the first request waits for the statement (0, or 5–50 s). Default 5: it must leave an inline delivery attempt (10 s by default) room to poll. */
  waitTimeoutSeconds?: number;
  /** First poll interval. Default 100 ms. */
  pollIntervalMs?: number;
}

/** `result`: JSON of the structured content, else the text blocks joined, else null. */
function resultText(record: ToolCallRecord): string | null {
  const result = record.result as
    | { structuredContent?: unknown; content?: { type?: string; text?: string }[] }
    | undefined;
  if (!result) return null;
  if (result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  const text = (result.content ?? [])
    .filter((c) => c.type === 'text' && typeof c.text === 'string')
    .map((c) => c.text)
    .join('\n');
  return text === '' ? null : text;
}

export function mergeParameters(record: ToolCallRecord, target: DatabricksSqlTarget): StatementParameter[] {
  const source = record.source.reference ? `${record.source.kind}:${record.source.reference}` : record.source.kind;
  const values: Record<(typeof RESULT_COLUMNS)[number], string | null> = {
    call_id: record.id,
    idempotency_key: record.idempotencyKey,
    caller: record.caller,
    tool: record.tool,
    status: record.status,
    result: resultText(record),
    error_code: record.error?.code ?? null,
    error_message: record.error?.message ?? null,
    source,
    completed_at: record.completedAt ?? null,
  };
  return [
    { name: 'target_table', value: target.table },
    ...RESULT_COLUMNS.map((name) => ({
      name,
      value: values[name],
      ...(name === 'completed_at' ? { type: 'TIMESTAMP' } : {}),
    })),
  ];
}

/**
 * `databricks-sql`: merges the call's outcome into a Delta table on a SQL warehouse, keyed by the
 * call id. The target's workspace must be configured with the call's caller
 * (`databricks.workspaces[].caller`), else the delivery fails for good with
 * `DATABRICKS_WORKSPACE_NOT_ALLOWED`.
 */
export class DatabricksSqlHandler implements WriteBackTargetHandler<DatabricksSqlTarget> {
  readonly type = 'databricks-sql' as const;
  readonly #options: DatabricksSqlOptions;

  constructor(options: DatabricksSqlOptions) {
    this.#options = options;
  }

  async deliver(target: DatabricksSqlTarget, { record, signal }: DeliveryContext): Promise<DatabricksSqlReceipt> {
    const { workspaces } = this.#options;
    const workspace =
      typeof workspaces === 'function' ? workspaces(target.workspace) : workspaces.find(target.workspace);
    // One message whether the workspace is unknown or another caller's: callers cannot probe.
    if (!workspace || workspace.caller !== record.caller) {
      throw new DeliveryError(
        'permanent',
        'DATABRICKS_WORKSPACE_NOT_ALLOWED',
        `The databricks-sql target names workspace "${target.workspace}", which is not a connected workspace of caller "${record.caller}".`,
      );
    }
    const outcome = await executeStatement(workspace, {
      warehouseId: target.warehouseId,
      statement: MERGE_STATEMENT,
      parameters: mergeParameters(record, target),
      signal,
      ...(this.#options.waitTimeoutSeconds === undefined
        ? {}
        : { waitTimeoutSeconds: this.#options.waitTimeoutSeconds }),
      ...(this.#options.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.#options.pollIntervalMs }),
    });
    return {
      workspace: workspace.id,
      table: target.table,
      statementId: outcome.statementId,
      inserted: outcome.row.num_inserted_rows !== undefined && outcome.row.num_inserted_rows !== '0',
    };
  }
}

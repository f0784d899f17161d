/**
 * The SQL Statement Execution API's statement life cycle: a statement is `PENDING` (waiting for
 * the warehouse), then `RUNNING`, then `SUCCEEDED` or `FAILED` (or `CANCELED`). The statement runs
 * against the tables when it leaves `RUNNING`, so a client that stops polling early still finds
 * the write applied, as on a real warehouse.
 */

import { randomUUID } from 'node:crypto';
import type { DeltaTables } from './delta-tables.ts';
import type { FaultInjector } from './fault-injection.ts';
import { execute, type SqlError, type StatementParameter } from './sql-interpreter.ts';

export type StatementState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'CLOSED';

const FINAL: ReadonlySet<StatementState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED']);

interface Statement {
  id: string;
  text: string;
  parameters: StatementParameter[];
  catalog: string;
  schema: string;
  state: StatementState;
  error?: SqlError;
  result?: { columns: string[]; row: string[] };
  timers: NodeJS.Timeout[];
  settled: Promise<void>;
  settle: () => void;
}

export interface StatementTimings {
  /** How long a statement stays PENDING. Default 30 ms. */
  pendingMs?: number;
  /** How long it then stays RUNNING before it runs. Default 30 ms. */
  runningMs?: number;
}

export interface SubmittedStatement {
  text: string;
  parameters: StatementParameter[];
  catalog: string;
  schema: string;
}

export class SqlStatements {
  readonly #statements = new Map<string, Statement>();
  readonly #tables: DeltaTables;
  readonly #faults: FaultInjector;
  readonly #timings: Required<StatementTimings>;
  /** Every statement text submitted, in order (tests check what a client sent). */
  readonly submitted: SubmittedStatement[] = [];

  constructor(tables: DeltaTables, faults: FaultInjector, timings: StatementTimings = {}) {
    this.#tables = tables;
    this.#faults = faults;
    this.#timings = { pendingMs: timings.pendingMs ?? 30, runningMs: timings.runningMs ?? 30 };
  }

  submit(submitted: SubmittedStatement): Statement {
    this.submitted.push(submitted);
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const statement: Statement = {
      id: randomUUID()
        .replace(/^(.{8})/, '01f0$1')
        .slice(0, 36),
      ...submitted,
      state: 'PENDING',
      timers: [],
      settled,
      settle,
    };
    this.#statements.set(statement.id, statement);
    const { pendingMs, runningMs } = this.#timings;
    statement.timers.push(
      setTimeout(() => {
        if (statement.state === 'PENDING') statement.state = 'RUNNING';
      }, pendingMs),
      setTimeout(() => this.#run(statement), pendingMs + runningMs),
    );
    return statement;
  }

  #run(statement: Statement): void {
    if (FINAL.has(statement.state)) return;
    const injected = this.#faults.takeStatementFailure();
    if (injected) {
      statement.state = 'FAILED';
      statement.error = {
        errorCode: injected.errorCode ?? 'BAD_REQUEST',
        sqlState: '2D521',
        message:
          injected.message ??
          '[DELTA_CONCURRENT_APPEND] ConcurrentAppendException: Files were added to the root of the table by a concurrent update. Please try the operation again.',
      };
    } else {
      const outcome = execute(statement.text, {
        tables: this.#tables,
        parameters: statement.parameters,
        catalog: statement.catalog,
        schema: statement.schema,
      });
      if (outcome.ok) {
        statement.state = 'SUCCEEDED';
        statement.result = { columns: outcome.columns, row: outcome.row };
      } else {
        statement.state = 'FAILED';
        statement.error = outcome.error;
      }
    }
    statement.settle();
  }

  get(id: string): Statement | undefined {
    return this.#statements.get(id);
  }

  /** Waits up to `ms` for the statement to reach a final state. */
  async waitFor(statement: Statement, ms: number): Promise<void> {
    if (ms <= 0 || FINAL.has(statement.state)) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      statement.settled,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  cancel(statement: Statement): void {
    if (FINAL.has(statement.state)) return;
    statement.state = 'CANCELED';
    for (const timer of statement.timers) clearTimeout(timer);
    statement.settle();
  }

  close(): void {
    for (const statement of this.#statements.values()) for (const timer of statement.timers) clearTimeout(timer);
  }
}

/** The StatementResponse object. */
export function statementView(statement: Statement) {
  const status = {
    state: statement.state,
    ...(statement.error
      ? {
          error: { error_code: statement.error.errorCode, message: statement.error.message },
          sql_state: statement.error.sqlState,
        }
      : {}),
  };
  if (statement.state !== 'SUCCEEDED' || !statement.result) return { statement_id: statement.id, status };
  const { columns, row } = statement.result;
  return {
    statement_id: statement.id,
    status,
    manifest: {
      format: 'JSON_ARRAY',
      schema: {
        column_count: columns.length,
        columns: columns.map((name, position) => ({ name, type_name: 'LONG', type_text: 'BIGINT', position })),
      },
      total_chunk_count: 1,
      total_row_count: 1,
      truncated: false,
    },
    result: { chunk_index: 0, row_offset: 0, row_count: 1, data_array: [row] },
  };
}

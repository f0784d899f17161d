export type { DatabricksError } from './databricks-errors.ts';
export {
  type DatabricksSandbox,
  type DatabricksSandboxOptions,
  type RecordedRequest,
  startDatabricksSandbox,
} from './databricks-sandbox.ts';
export type { Row, SqlValue } from './delta-tables.ts';
export type { DatabricksFaults } from './fault-injection.ts';
export { type ResultState, type RunSpec, type StoredRun, TASKS_PER_PAGE, type TaskSpec } from './job-runs.ts';
export type { StatementParameter } from './sql-interpreter.ts';
export type { StatementTimings } from './sql-statements.ts';
export type { JobEventType, NotificationOptions, WebhookCredentials } from './webhook-notification.ts';

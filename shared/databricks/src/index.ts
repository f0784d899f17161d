export { classifyDatabricksError, DatabricksApiError } from './databricks-api-error.ts';
export {
  DatabricksSqlHandler,
  type DatabricksSqlOptions,
  type DatabricksSqlReceipt,
  MERGE_STATEMENT,
  mergeParameters,
  RESULT_COLUMNS,
} from './databricks-sql-target.ts';
export { DatabricksWorkspace, type WorkspaceRequest } from './databricks-workspace.ts';
export { DatabricksWorkspaces } from './databricks-workspaces.ts';
export { getRun, getRunOutput, type JobRun, type RunOutput, type TaskRun } from './jobs-api.ts';
export {
  type ExecuteOptions,
  executeStatement,
  type StatementOutcome,
  type StatementParameter,
} from './statement-execution.ts';
export { type WorkspaceTokenOptions, type WorkspaceTokens, workspaceTokens } from './workspace-token.ts';

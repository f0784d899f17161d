export { classifyDatabricksError, DatabricksApiError } from './databricks-api-error.ts';
export {
  createDatabricksIngressSide,
  createDatabricksWorkerSide,
  type DatabricksIngressSideOptions,
  type DatabricksWorkerSideOptions,
} from './databricks-connector.ts';
export {
  DatabricksDoorbellProcessor,
  type DoorbellOutcome,
  type DoorbellProcessorOptions,
  prepareSources,
} from './databricks-doorbell.ts';
export {
  DatabricksDoorbellQueue,
  DatabricksDoorbellWorker,
  DOORBELL_QUEUE,
  doorbellJobId,
} from './databricks-doorbell-queue.ts';
export type { DatabricksLogger } from './databricks-logger.ts';
export {
  DatabricksSqlHandler,
  type DatabricksSqlOptions,
  type DatabricksSqlReceipt,
  MERGE_STATEMENT,
  mergeParameters,
  RESULT_COLUMNS,
} from './databricks-sql-target.ts';
export {
  DatabricksWebhookSource,
  type DoorbellSink,
  type LoginThrottle,
  type WebhookAnswer,
  type WebhookDelivery,
  type WebhookSourceOptions,
} from './databricks-webhook-source.ts';
export { DatabricksWorkspace, type WorkspaceRequest } from './databricks-workspace.ts';
export { DatabricksWorkspaces } from './databricks-workspaces.ts';
export { getRun, getRunOutput, type JobRun, type RunOutput, type TaskRun } from './jobs-api.ts';
export {
  type ExecuteOptions,
  executeStatement,
  type StatementOutcome,
  type StatementParameter,
} from './statement-execution.ts';
export type { ToolCallAcceptor } from './tool-call-acceptor.ts';
export { doorbellKey, matchingRoutes, type PlannedCall, planCalls, routeMatches } from './webhook-routing.ts';
export { type WorkspaceTokenOptions, type WorkspaceTokens, workspaceTokens } from './workspace-token.ts';

export { type AuditRecord, auditRecordSchema } from './audit-record.ts';
export {
  type BatchRunCounts,
  type BatchRunJob,
  type BatchRunPhase,
  type BatchRunRecord,
  type BatchRunStatus,
  type BatchRunView,
  type BatchTickJob,
  batchRunAcceptedSchema,
  batchRunCountsSchema,
  batchRunJobSchema,
  batchRunPhaseSchema,
  batchRunRecordSchema,
  batchRunStatusSchema,
  batchRunViewSchema,
  batchTickJobSchema,
  batchWriteBackFailureSchema,
  emptyBatchRunCounts,
  finalBatchRunStatuses,
  type ScheduleView,
  scheduleListSchema,
  scheduleViewSchema,
  startBatchRunBodySchema,
} from './batch-run.ts';
export { BrokerError, isBrokerError } from './broker-error.ts';
export { type CancelMessage, cancelMessageSchema } from './cancel-message.ts';
export { canonicalJson, fingerprint } from './canonical-json.ts';
export {
  type DatabricksDoorbellJob,
  type DatabricksWebhook,
  databricksDoorbellJobSchema,
  databricksWebhookEventTypes,
  databricksWebhookSchema,
} from './databricks-webhook.ts';
export { type ErrorBody, errorBodySchema } from './error-body.ts';
export { type ErrorCode, errorCatalog, errorCodes } from './error-codes.ts';
export {
  type CatalogFailureCode,
  type FailureCode,
  type FailureKind,
  failureCatalog,
  failureCodes,
  isCatalogFailureCode,
  type RecordErrorCode,
  type RetryClass,
  retryClassOfKind,
  type SalesforcePassThroughCode,
} from './failure-codes.ts';
export { type Identity, identityKey, identitySchema } from './identity.ts';
export {
  assertJsonTextDepth,
  assertJsonValueDepth,
  DEFAULT_MAX_JSON_DEPTH,
  type JsonLimits,
  jsonTextDepth,
  jsonValueDepth,
  tooDeepError,
} from './json-limits.ts';
export {
  JsonRpcErrorCode,
  type JsonRpcErrorResponse,
  type JsonRpcMessage,
  jsonRpcIdSchema,
  jsonRpcMessageSchema,
} from './json-rpc.ts';
export {
  type ServiceBusOutcomeMessage,
  type ServiceBusToolCallMessage,
  serviceBusOutcomeMessageSchema,
  serviceBusToolCallMessageSchema,
} from './service-bus-message.ts';
export {
  finalStatuses,
  isToolCallId,
  type ToolCallJob,
  type ToolCallRecord,
  type ToolCallRequest,
  type ToolCallStatus,
  toolCallErrorSchema,
  toolCallIdSchema,
  toolCallJobSchema,
  toolCallRecordSchema,
  toolCallRequestSchema,
  toolCallSourceSchema,
  toolCallStatusSchema,
  type WriteBackJob,
  writeBackJobSchema,
} from './tool-call.ts';
export {
  type ApiWriteBackTarget,
  apiErrorSchema,
  apiWriteBackTargetSchema,
  type CreateToolCallBody,
  createToolCallBodySchema,
  deadLetterListSchema,
  deliveryViewSchema,
  replayDeadLettersBodySchema,
  replayDeadLettersResultSchema,
  type ToolCallView,
  toolCallAcceptedSchema,
  toolCallListSchema,
  toolCallViewSchema,
  wireOnly,
} from './tool-call-api.ts';
export {
  type DatabricksSqlTarget,
  type Delivery,
  databricksSqlTargetSchema,
  deliverySchema,
  deliveryStatusSchema,
  type EventGridTarget,
  eventGridTargetSchema,
  type HttpCallbackTarget,
  httpCallbackTargetSchema,
  type SalesforceEventTarget,
  type SalesforceRecordTarget,
  type SalesforceResultTarget,
  type SalesforceTarget,
  type ServiceBusTarget,
  salesforceEventTargetSchema,
  salesforceRecordTargetSchema,
  salesforceResultTargetSchema,
  serviceBusTargetSchema,
  type WriteBackTarget,
  writeBackTargetSchema,
  writeBackTargetTypes,
} from './write-back-target.ts';

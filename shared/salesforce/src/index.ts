export {
  type FieldLimit,
  FieldLimits,
  type FittedValues,
  fitToFieldLimits,
  SObjectFieldLimits,
  truncateToLength,
  truncationPointer,
} from './field-limits.ts';
export { isTimeoutError, networkErrorCode } from './network-error.ts';
export { isSessionRefused, JWT_BEARER_GRANT, OrgConnection, type OrgConnectionOptions } from './org-connection.ts';
export { OrgConnections, type OrgConnectionsOptions } from './org-connections.ts';
export {
  evaluateFieldMapping,
  type FieldMappingOptions,
  type FieldValue,
  MAPPING_FAILED,
  type OutcomeContext,
  outcomeContext,
  resultText,
  structuredContentOf,
} from './outcome-mapping.ts';
export { errorFieldValue, outcomeFields, resultFieldValue, resultRecordName } from './result-fields.ts';
export {
  classifySalesforceError,
  REQUEST_LIMIT_RETRY_AFTER_MS,
  type SalesforceHttpResult,
  TRANSIENT_SALESFORCE_CODES,
} from './salesforce-error.ts';
export { RESULT_EVENT, SalesforceEventHandler, type SalesforceEventReceipt } from './salesforce-event-target.ts';
export type { SalesforceLogger } from './salesforce-logger.ts';
export { SalesforceLoginError } from './salesforce-login-error.ts';
export {
  SalesforceRecordHandler,
  type SalesforceRecordOptions,
  type SalesforceRecordReceipt,
} from './salesforce-record-target.ts';
export {
  RESULT_EXTERNAL_ID,
  RESULT_SOBJECT,
  SalesforceResultHandler,
  type SalesforceResultReceipt,
} from './salesforce-result-target.ts';
export {
  checkSalesforceTarget,
  isSalesforceTarget,
  ORG_NOT_ALLOWED,
  type SalesforceOrgs,
  type SalesforceTargetRefusal,
} from './salesforce-target-access.ts';
export type { SalesforceReceipt, SalesforceTargetOptions } from './salesforce-target-delivery.ts';

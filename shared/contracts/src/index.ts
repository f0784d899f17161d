export { type AuditRecord, auditRecordSchema } from './audit-record.ts';
export { BrokerError, isBrokerError } from './broker-error.ts';
export { type ErrorBody, errorBodySchema } from './error-body.ts';
export { type ErrorCode, errorCatalog, errorCodes } from './error-codes.ts';
export { type Identity, identitySchema } from './identity.ts';
export {
  JsonRpcErrorCode,
  type JsonRpcErrorResponse,
  type JsonRpcMessage,
  jsonRpcIdSchema,
  jsonRpcMessageSchema,
} from './json-rpc.ts';

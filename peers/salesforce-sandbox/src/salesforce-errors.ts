/**
 * Salesforce's REST error shapes. A failed request answers with an array of
 * `{ message, errorCode, fields? }`; a failed item inside an SObject Collections result carries
 * `{ statusCode, message, fields }` instead (the SaveResult form).
 */

export interface SalesforceError {
  message: string;
  errorCode: string;
  fields?: string[];
}

/** A REST failure: the HTTP status and the error array that goes in the body. */
export interface RestFailure {
  status: number;
  errors: SalesforceError[];
}

export interface SaveResultError {
  statusCode: string;
  message: string;
  fields: string[];
}

export function sfError(errorCode: string, message: string, fields?: string[]): SalesforceError {
  return fields === undefined ? { message, errorCode } : { message, errorCode, fields };
}

export function failure(status: number, ...errors: SalesforceError[]): RestFailure {
  return { status, errors };
}

export function toSaveResultError(error: SalesforceError): SaveResultError {
  return { statusCode: error.errorCode, message: error.message, fields: error.fields ?? [] };
}

export const notFound = (): RestFailure => failure(404, sfError('NOT_FOUND', 'The requested resource does not exist'));

export const invalidSession = (): RestFailure =>
  failure(401, sfError('INVALID_SESSION_ID', 'Session expired or invalid'));

export const requestLimitExceeded = (): RestFailure =>
  failure(403, sfError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'));

export const unknownException = (errorId: string): RestFailure =>
  failure(
    500,
    sfError(
      'UNKNOWN_EXCEPTION',
      `An unexpected error occurred. Please include this ErrorId if you contact support: ${errorId}`,
    ),
  );

export const unableToLockRow = (id: string | undefined): SalesforceError =>
  sfError(
    'UNABLE_TO_LOCK_ROW',
    id
      ? `unable to obtain exclusive access to this record or 1 records: ${id}`
      : 'unable to obtain exclusive access to this record',
    [],
  );

export const rolledBack = (): SaveResultError => ({
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
});

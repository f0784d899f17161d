/**
 * Databricks' REST error shape: `{ error_code, message }` (the Errors page of the REST API
 * reference). `error_code` is a stable string; a few legacy answers (an invalid token) carry the
 * HTTP status there as a number instead, which clients must treat as absent.
 */

export interface DatabricksError {
  error_code: string | number;
  message: string;
}

/** A refused request: the HTTP status, the body, and any headers to send with it. */
export interface Refusal {
  status: number;
  body: DatabricksError | Record<string, unknown>;
  headers?: Record<string, string>;
}

export const refusal = (
  status: number,
  errorCode: string | number,
  message: string,
  headers?: Record<string, string>,
): Refusal => ({
  status,
  body: { error_code: errorCode, message },
  ...(headers ? { headers } : {}),
});

export const invalidParameter = (message: string): Refusal => refusal(400, 'INVALID_PARAMETER_VALUE', message);

export const notFound = (message: string): Refusal => refusal(404, 'RESOURCE_DOES_NOT_EXIST', message);

// The legacy answers to a missing or unusable bearer token, with the status as the code.
export const credentialsMissing = (): Refusal =>
  refusal(401, 401, 'Credential was not sent or was of an unsupported type for this API.');
export const invalidToken = (): Refusal => refusal(403, 403, 'Invalid access token.');

export const requestLimitExceeded = (retryAfterSeconds: number): Refusal =>
  refusal(429, 'REQUEST_LIMIT_EXCEEDED', 'The request rate limit has been exceeded. Please retry later.', {
    'retry-after': String(retryAfterSeconds),
  });

export const serverError = (status: number): Refusal =>
  status === 503
    ? refusal(503, 'TEMPORARILY_UNAVAILABLE', 'The service is temporarily unavailable. Please retry later.')
    : refusal(status, 'INTERNAL_ERROR', 'An internal error occurred. Please retry later.');

/** The OAuth token endpoint answers RFC 6749 §5.2 bodies, not the REST shape. */
export const oauthRefusal = (status: number, error: string, description: string): Refusal => ({
  status,
  body: { error, error_description: description },
});

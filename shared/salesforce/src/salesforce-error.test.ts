import { readFileSync } from 'node:fs';
import { DeliveryError } from '@mcp-broker/broker';
import { failureCatalog, isCatalogFailureCode } from '@mcp-broker/contracts';
import { describe, expect, it } from 'vitest';
import { MAPPING_FAILED } from './outcome-mapping.ts';
import {
  classifySalesforceError,
  REQUEST_LIMIT_RETRY_AFTER_MS,
  TRANSIENT_SALESFORCE_CODES,
} from './salesforce-error.ts';
import { SalesforceLoginError } from './salesforce-login-error.ts';
import { ORG_NOT_ALLOWED } from './salesforce-target-access.ts';

/** The shape of jsforce's HttpApiError: `name` and `errorCode` are Salesforce's code. */
function restError(errorCode: string, message: string): Error & { errorCode: string } {
  return Object.assign(new Error(message), { name: errorCode, errorCode, data: { errorCode, message } });
}

describe('classifySalesforceError', () => {
  it.each([
    ['REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'],
    ['UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record'],
    ['SERVER_UNAVAILABLE', 'Server temporarily unavailable'],
    ['UNKNOWN_EXCEPTION', 'An unexpected error occurred.'],
  ])('treats REST %s as transient with the prefixed code and Salesforce’s message', (code, message) => {
    expect(classifySalesforceError(restError(code, message))).toMatchObject({
      kind: 'transient',
      code: `SALESFORCE_${code}`,
      message,
    });
  });

  it.each([
    'INVALID_FIELD',
    'INVALID_FIELD_FOR_INSERT_UPDATE',
    'FIELD_CUSTOM_VALIDATION_EXCEPTION',
    'STRING_TOO_LONG',
    'REQUIRED_FIELD_MISSING',
    'MALFORMED_ID',
    'NOT_FOUND',
    'ENTITY_IS_DELETED',
    'INVALID_CROSS_REFERENCE_KEY',
    'JSON_PARSER_ERROR',
    'DUPLICATE_VALUE',
    'INSUFFICIENT_ACCESS_OR_READONLY',
    'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY',
    'SOMETHING_SALESFORCE_ADDS_LATER',
  ])('treats REST %s as permanent', (code) => {
    expect(classifySalesforceError(restError(code, 'refused'))).toMatchObject({
      kind: 'permanent',
      code: `SALESFORCE_${code}`,
      message: 'refused',
    });
  });

  it('reads `statusCode` from a failed SObject Collections item, preferring a transient error', () => {
    const saved = {
      success: false,
      errors: [
        { statusCode: 'STRING_TOO_LONG', message: 'Name: data value too large', fields: ['Name'] },
        { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access', fields: [] },
      ],
    };
    expect(classifySalesforceError(saved)).toMatchObject({ kind: 'transient', code: 'SALESFORCE_UNABLE_TO_LOCK_ROW' });
    expect(classifySalesforceError({ success: false, errors: [saved.errors[0]] })).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_STRING_TOO_LONG',
      message: 'Name: data value too large',
    });
  });

  it('classifies HTTP results by status when there is no Salesforce code', () => {
    expect(classifySalesforceError({ status: 503, message: 'Service Unavailable' })).toMatchObject({
      kind: 'transient',
      code: 'SALESFORCE_HTTP_503',
    });
    expect(classifySalesforceError(restError('ERROR_HTTP_502', '<html>bad gateway</html>'))).toMatchObject({
      kind: 'transient',
      code: 'SALESFORCE_HTTP_502',
    });
    expect(classifySalesforceError({ status: 429 })).toMatchObject({ kind: 'transient', code: 'SALESFORCE_HTTP_429' });
    expect(classifySalesforceError({ status: 413, message: 'too large' })).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_HTTP_413',
    });
    expect(classifySalesforceError({ status: 500, errorCode: 'UNKNOWN_EXCEPTION', message: 'x' })).toMatchObject({
      kind: 'transient',
      code: 'SALESFORCE_UNKNOWN_EXCEPTION',
    });
  });

  it('asks for a pause of a minute after the org’s request limit', () => {
    expect(classifySalesforceError(restError('REQUEST_LIMIT_EXCEEDED', 'limit')).retryAfterMs).toBe(
      REQUEST_LIMIT_RETRY_AFTER_MS,
    );
  });

  it('reads the first of several errors jsforce reports as MULTIPLE_API_ERRORS', () => {
    const error = Object.assign(new Error('Multiple errors returned.'), {
      errorCode: 'MULTIPLE_API_ERRORS',
      data: [
        { errorCode: 'INVALID_FIELD', message: 'No such column' },
        { errorCode: 'MALFORMED_ID', message: 'bad id' },
      ],
    });
    expect(classifySalesforceError(error)).toMatchObject({ kind: 'permanent', code: 'SALESFORCE_INVALID_FIELD' });
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_SOCKET'])(
    'treats a network error (%s, as undici’s fetch reports it) as transient',
    (code) => {
      const error = new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
      expect(classifySalesforceError(error)).toMatchObject({ kind: 'transient', code: 'SALESFORCE_UNREACHABLE' });
    },
  );

  it('treats timeouts as transient', () => {
    expect(classifySalesforceError(new Error('Request Timeout'))).toMatchObject({
      kind: 'transient',
      code: 'SALESFORCE_TIMEOUT',
    });
    expect(classifySalesforceError(new DOMException('aborted', 'AbortError'))).toMatchObject({
      code: 'SALESFORCE_TIMEOUT',
    });
  });

  it('keeps a login failure’s kind and message', () => {
    const login = (transient: boolean) =>
      new SalesforceLoginError({ orgId: 'o', flow: 'client-credentials', error: 'x', description: 'y', transient });
    expect(classifySalesforceError(login(false))).toMatchObject({
      kind: 'permanent',
      code: 'SALESFORCE_LOGIN_FAILED',
      message: 'Salesforce login to org "o" failed (client-credentials): x: y',
    });
    expect(classifySalesforceError(login(true))).toMatchObject({
      kind: 'transient',
      code: 'SALESFORCE_LOGIN_UNAVAILABLE',
      message: 'Salesforce login to org "o" failed (client-credentials): x: y',
    });
  });

  it('passes a DeliveryError through and treats anything unrecognised as transient', () => {
    const given = new DeliveryError('permanent', 'SALESFORCE_MAPPING_FAILED', 'x');
    expect(classifySalesforceError(given)).toBe(given);
    expect(classifySalesforceError(new Error('boom'))).toMatchObject({
      kind: 'transient',
      code: 'SALESFORCE_UNEXPECTED',
      message: 'Unexpected Salesforce failure: boom',
    });
  });

  it('clips a long message (STRING_TOO_LONG echoes the whole value) to 1,000 characters', () => {
    const error = classifySalesforceError(
      restError('STRING_TOO_LONG', `Name: data value too large: ${'x'.repeat(5000)}`),
    );
    expect(error.message).toHaveLength(1000);
    expect(error.message.endsWith('…')).toBe(true);
  });
});

describe('retry classes: what the classifier does is what the catalog documents', () => {
  const login = (error: string, transient: boolean) =>
    new SalesforceLoginError({ orgId: 'o', flow: 'client-credentials', error, description: 'd', transient });
  const inputs: [string, unknown][] = [
    ['a refused login (invalid_client)', login('invalid_client', false)],
    ['a refused login (invalid_grant)', login('invalid_grant', false)],
    ['a missing login secret', login('secret_missing', false)],
    ['an unreachable login server', login('unreachable', true)],
    ['a login server answering 503', login('ERROR_HTTP_503', true)],
    ['a login server answering unknown_error', login('unknown_error', true)],
    ['a network error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a timeout', new DOMException('timed out', 'TimeoutError')],
    ['something unrecognised', new Error('boom')],
    ['REQUEST_LIMIT_EXCEEDED', restError('REQUEST_LIMIT_EXCEEDED', 'limit')],
    ['UNABLE_TO_LOCK_ROW', restError('UNABLE_TO_LOCK_ROW', 'locked')],
    ['STRING_TOO_LONG', restError('STRING_TOO_LONG', 'too long')],
  ];

  it.each(inputs)('%s gets a catalog code whose class matches the kind', (_what, input) => {
    const error = classifySalesforceError(input);
    expect(isCatalogFailureCode(error.code), `${error.code} is in the catalog`).toBe(true);
    if (!isCatalogFailureCode(error.code)) return;
    expect(failureCatalog[error.code].retry).toBe(error.kind === 'transient' ? 'transient' : 'final');
  });

  it('gives a refused login and an unavailable login server different codes (one code, one class)', () => {
    expect(classifySalesforceError(login('invalid_client', false)).code).toBe('SALESFORCE_LOGIN_FAILED');
    expect(classifySalesforceError(login('unreachable', true)).code).toBe('SALESFORCE_LOGIN_UNAVAILABLE');
  });
});

describe('the error table in README.md', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('lists every code the package makes up and every transient Salesforce code', () => {
    const own = [
      ORG_NOT_ALLOWED,
      MAPPING_FAILED,
      'SALESFORCE_LOGIN_FAILED',
      'SALESFORCE_LOGIN_UNAVAILABLE',
      'SALESFORCE_UNREACHABLE',
      'SALESFORCE_TIMEOUT',
      'SALESFORCE_UNEXPECTED',
    ];
    for (const code of [...own, ...TRANSIENT_SALESFORCE_CODES]) expect(readme).toContain(`\`${code}`);
  });
});

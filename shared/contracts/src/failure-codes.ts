import type { ErrorCode } from './error-codes.ts';

/**
 * Codes that reach callers on a record (`error.code`) or a write-back outcome: why a call or a
 * delivery failed. Unlike the HTTP codes (`error-codes.ts`) they describe a peer's answer, so each
 * carries its retry class: `transient` (the broker tries again, or a later try may succeed) or
 * `final` (retrying as it is cannot help). docs/errors.md lists them; a test keeps the two in step.
 */
export type RetryClass = 'transient' | 'final';

/**
 * How a failed upstream call is handled, finer than the retry class: `rate_limited` waits the
 * peer's Retry-After, `unauthorized` refreshes the token, `cancelled` is the caller's own abort.
 */
export type FailureKind = 'transient' | 'rate_limited' | 'unauthorized' | 'permanent' | 'cancelled';

export function retryClassOfKind(kind: FailureKind): RetryClass {
  switch (kind) {
    case 'transient':
    case 'rate_limited':
    case 'unauthorized':
      return 'transient';
    case 'permanent':
    case 'cancelled':
      return 'final';
    default:
      return kind satisfies never;
  }
}

interface FailureCodeEntry {
  retry: RetryClass;
  hint: string;
}

export const failureCatalog = {
  // Calling the upstream MCP server (shared/mcp-client).
  UPSTREAM_UNAVAILABLE: {
    retry: 'transient',
    hint: 'The MCP server was unreachable or answered 5xx; the worker retries with backoff.',
  },
  UPSTREAM_ERROR: {
    retry: 'transient',
    hint: 'The MCP server failed internally (-32603); retried, report its request id if it persists.',
  },
  UPSTREAM_RATE_LIMITED: {
    retry: 'transient',
    hint: 'The MCP server or gateway answered 429; retried after its Retry-After.',
  },
  // Final: the first refusal is handled inside the client (a forced token refresh and one more
  // request); this code is only given when the fresh token is refused too, and the same identity
  // would get the same answer (RFC 6750 3.1: invalid_token means "request a new token", done).
  UPSTREAM_UNAUTHORIZED: {
    retry: 'final',
    hint: "The MCP server refused the broker's token even after a refresh; check the caller's upstream identity (audience, roles).",
  },
  UPSTREAM_FORBIDDEN: {
    retry: 'final',
    hint: 'A gateway refused the request (403: subscription key, Origin); fix the gateway policy or key.',
  },
  UPSTREAM_REJECTED: {
    retry: 'final',
    hint: 'The MCP server refused the request itself (route, malformed, unknown method); check the endpoint URL.',
  },
  UPSTREAM_AUTH_FAILED: {
    retry: 'final',
    hint: "The token endpoint refused the caller's credential, or a secret is missing; fix the credential.",
  },
  UPSTREAM_AUTH_UNAVAILABLE: {
    retry: 'transient',
    hint: 'The token endpoint was unreachable or failing; retried with backoff.',
  },
  TOOL_FORBIDDEN: {
    retry: 'final',
    hint: "The caller's upstream identity lacks a permission the tool requires; grant it, then replay.",
  },
  TOOL_NOT_FOUND: { retry: 'final', hint: 'The MCP server has no such tool for this identity; check the tool name.' },
  TOOL_TIMEOUT: {
    retry: 'transient',
    hint: "The tool did not finish within its timeout; retried, or raise the tool's timeout.",
  },
  INVALID_ARGUMENTS: {
    retry: 'final',
    hint: "The arguments failed the tool's input schema; `details.fields` names each field.",
  },
  CANCELLED: { retry: 'final', hint: 'The call was cancelled (by the caller or a shutdown) before it finished.' },
  TOOL_ERROR: {
    retry: 'final',
    hint: 'The tool ran and reported an error (`isError`); the message is the tool’s own.',
  },
  // Platform events turned into calls (shared/salesforce-events).
  EVENT_MALFORMED: {
    retry: 'final',
    hint: 'The platform event is not an object with the expected fields; fix the publisher.',
  },
  EVENT_BAD_JSON: { retry: 'final', hint: 'A JSON field of the event does not parse; fix the publisher.' },
  EVENT_BAD_TOOL: { retry: 'final', hint: "The event's tool name is not a valid tool name." },
  EVENT_TOOL_MISSING: { retry: 'final', hint: 'The event names no tool and its mapping gives none.' },
  EVENT_BAD_ARGUMENTS: { retry: 'final', hint: "The event's arguments are not a JSON object." },
  EVENT_BAD_IDEMPOTENCY_KEY: { retry: 'final', hint: "The event's idempotency key is empty or too long." },
  EVENT_BAD_WRITE_BACK: {
    retry: 'final',
    hint: "The event's write-back targets do not validate; `details` says which.",
  },
  EVENT_MAPPING_FAILED: {
    retry: 'final',
    hint: "The channel's JSONata mapping failed on this event; fix the mapping.",
  },
  // Salesforce as a peer: login, streaming, write-backs (shared/salesforce).
  // Salesforce's token endpoint follows RFC 6749 5.2: invalid_client / invalid_grant and the like
  // come back the same until the connected app or user changes; an unreachable or failing login
  // server (5xx, 408, 429, `unknown_error`) is SALESFORCE_LOGIN_UNAVAILABLE and retried.
  SALESFORCE_LOGIN_FAILED: {
    retry: 'final',
    hint: "Salesforce refused the org's login (invalid_client, invalid_grant, a missing secret or key); fix the connected app or user.",
  },
  SALESFORCE_LOGIN_UNAVAILABLE: {
    retry: 'transient',
    hint: "Salesforce's login server was unreachable or failing (network, 5xx, 408, 429, unknown_error); retried with backoff.",
  },
  SALESFORCE_UNREACHABLE: {
    retry: 'transient',
    hint: 'Salesforce could not be reached (network); retried with backoff.',
  },
  SALESFORCE_TIMEOUT: {
    retry: 'transient',
    hint: 'Salesforce did not answer in time; retried (the write may have been applied).',
  },
  SALESFORCE_UNEXPECTED: {
    retry: 'transient',
    hint: 'Salesforce failed in a way the broker cannot place; retried, report if it persists.',
  },
  SALESFORCE_ORG_NOT_ALLOWED: {
    retry: 'final',
    hint: 'The write-back names an org this caller may not write to; see the org allow-list.',
  },
  SALESFORCE_MAPPING_FAILED: {
    retry: 'final',
    hint: "The write-back's field mapping failed on the result; fix the mapping.",
  },
  SALESFORCE_REPLAY_REFUSED: {
    retry: 'final',
    hint: 'Salesforce refused the stored replay id; events published meanwhile may be skipped (see the alert).',
  },
  SALESFORCE_REQUEST_LIMIT_EXCEEDED: { retry: 'transient', hint: "The org's API limit is spent; retried later." },
  SALESFORCE_UNABLE_TO_LOCK_ROW: { retry: 'transient', hint: 'Salesforce could not lock the record; retried.' },
  SALESFORCE_STRING_TOO_LONG: {
    retry: 'final',
    hint: 'A value exceeds the field length; the broker re-reads the limits, shorten the mapping.',
  },
  // Databricks as a peer: OAuth M2M, Jobs API, Statement Execution, webhooks (shared/databricks).
  DATABRICKS_AUTH_FAILED: {
    retry: 'final',
    hint: "The workspace refused the broker's service principal or token (or a secret is missing); fix the credential, then replay.",
  },
  DATABRICKS_AUTH_UNAVAILABLE: {
    retry: 'transient',
    hint: "The workspace's token endpoint was unreachable, throttling or failing; retried with backoff.",
  },
  DATABRICKS_RATE_LIMITED: { retry: 'transient', hint: 'The workspace answered 429; retried after its Retry-After.' },
  DATABRICKS_UNAVAILABLE: { retry: 'transient', hint: 'The workspace answered 5xx; retried with backoff.' },
  DATABRICKS_UNREACHABLE: {
    retry: 'transient',
    hint: 'The workspace could not be reached (network); retried with backoff.',
  },
  DATABRICKS_TIMEOUT: {
    retry: 'transient',
    hint: 'The workspace did not answer in time; retried (a MERGE already applied is applied again, harmlessly).',
  },
  DATABRICKS_REQUEST_REFUSED: {
    retry: 'final',
    hint: "The workspace refused the request (4xx); the message carries Databricks' error_code and message.",
  },
  DATABRICKS_STATEMENT_FAILED: {
    retry: 'final',
    hint: "The warehouse ran the MERGE and it FAILED; the message is the statement's error (table, columns, grants).",
  },
  DATABRICKS_STATEMENT_CONFLICT: {
    retry: 'transient',
    hint: 'The MERGE lost a Delta concurrency conflict (another write to the table); retried, the MERGE by call id is idempotent.',
  },
  DATABRICKS_STATEMENT_CANCELED: {
    retry: 'transient',
    hint: 'The statement was canceled or closed before it finished; retried.',
  },
  DATABRICKS_WORKSPACE_NOT_ALLOWED: {
    retry: 'final',
    hint: 'The write-back names a workspace this caller may not write to; see databricks.workspaces[].caller.',
  },
  DATABRICKS_OUTPUT_TRUNCATED: {
    retry: 'final',
    hint: "The task's output exceeded the Jobs API's 5 MB and was cut; write large results to a table, or let the route pass truncated output.",
  },
  DATABRICKS_MAPPING_FAILED: {
    retry: 'final',
    hint: "The webhook route's JSONata (arguments or rows) failed on this run; fix the route.",
  },
  DATABRICKS_FAN_OUT_EXCEEDED: {
    retry: 'final',
    hint: "The run gave more calls than the route's maxCalls; raise it or narrow the rows expression.",
  },
  DATABRICKS_RUN_MISMATCH: {
    retry: 'final',
    hint: 'The run fetched from the Jobs API does not belong to the job the webhook named; check the source.',
  },
  SALESFORCE_INVALID_QUERY_LOCATOR: {
    retry: 'final',
    hint: 'A query locator expired (15 idle minutes); a batch run selects again from the first page.',
  },
  // HTTP callbacks (write-back delivery).
  CALLBACK_URL_REJECTED: {
    retry: 'final',
    hint: 'The callback URL is not allowed (scheme, host or private address); fix the target.',
  },
  CALLBACK_DNS_FAILED: { retry: 'transient', hint: 'The callback host did not resolve; retried.' },
  CALLBACK_UNREACHABLE: { retry: 'transient', hint: 'The callback receiver could not be reached; retried.' },
  CALLBACK_TIMEOUT: {
    retry: 'transient',
    hint: 'The receiver gave no answer within the target timeout; retried (it may have received it).',
  },
  CALLBACK_RETRYABLE_STATUS: {
    retry: 'transient',
    hint: 'The receiver answered 408, 429 or 5xx; retried, after its Retry-After if given.',
  },
  CALLBACK_REFUSED: {
    retry: 'final',
    hint: 'The receiver answered another 4xx; fix the receiver or the target, then replay.',
  },
  // Batch runs (shared/batch): on the run record and counted under its errorsByCode.
  BATCH_RECORD_INVALID: {
    retry: 'final',
    hint: "The schedule's recordId or arguments expression failed on a source record; the record is skipped.",
  },
  BATCH_SOURCE_FAILED: {
    retry: 'final',
    hint: "The source refused the query or failed after retries; the message is the source's own. Fix the schedule.",
  },
  BATCH_WRITE_BACK_INVALID: {
    retry: 'final',
    hint: "The org's describe of the write-back sObject refused the schedule before any call: no such sObject, an externalIdField it lacks or that is no External ID, or a mapped field it lacks or that cannot be written. The message names the schedule, the sObject and the field; fix writeBack.",
  },
  BATCH_RUN_CANCELLED: {
    retry: 'final',
    hint: 'The run was cancelled; calls not yet started were cancelled with it.',
  },
  BATCH_RUN_OVERLAP: {
    retry: 'final',
    hint: 'A tick found the previous run of the schedule still going (overlap: skip); the next tick runs.',
  },
  BATCH_RUN_ABANDONED: {
    retry: 'final',
    hint: 'The run job kept failing or its worker kept dying; start a new run (finished records are not called again).',
  },
  // Event Grid as a write-back target: topics and namespace topics (shared/event-grid).
  EVENT_GRID_UNREACHABLE: {
    retry: 'transient',
    hint: 'Event Grid could not be reached or did not answer in time; retried (the CloudEvent id is stable, so a repeat is recognisable).',
  },
  EVENT_GRID_THROTTLED: {
    retry: 'transient',
    hint: 'Event Grid answered 429 (publish rate); retried after its Retry-After.',
  },
  EVENT_GRID_UNAVAILABLE: { retry: 'transient', hint: 'Event Grid answered 5xx or 408; retried with backoff.' },
  EVENT_GRID_REJECTED: {
    retry: 'final',
    hint: "Event Grid refused the event (400: schema, content type, an attribute); the message is the service's own.",
  },
  EVENT_GRID_UNAUTHORIZED: {
    retry: 'final',
    hint: 'Event Grid refused the credential (401: wrong key, token for another audience); fix the topic credential, then replay.',
  },
  EVENT_GRID_FORBIDDEN: {
    retry: 'final',
    hint: "The broker's identity lacks the EventGrid Data Sender role on the topic (403); assign it, then replay.",
  },
  EVENT_GRID_NOT_FOUND: {
    retry: 'final',
    hint: 'The topic or namespace topic does not exist (404); fix eventGrid.topics[].endpoint or namespaceTopic.',
  },
  EVENT_GRID_TOO_LARGE: {
    retry: 'final',
    hint: 'The event exceeds 1 MB (413); lower inlineResultMaxBytes so large results travel by reference.',
  },
  EVENT_GRID_TOPIC_NOT_ALLOWED: {
    retry: 'final',
    hint: 'The write-back names a topic that is not configured, or not open to this caller (eventGrid.topics[].callers).',
  },
  EVENT_GRID_CREDENTIAL_FAILED: {
    retry: 'final',
    hint: "The topic's Entra credential could not get a token (unknown client, bad secret, missing variable); fix it, then replay.",
  },
  EVENT_GRID_CREDENTIAL_UNAVAILABLE: {
    retry: 'transient',
    hint: "The token endpoint of the topic's credential was unreachable or failing; retried with backoff.",
  },
  // Service Bus as a source and a write-back target (shared/service-bus).
  SERVICE_BUS_UNAVAILABLE: {
    retry: 'transient',
    hint: 'Service Bus was busy, timed out or lost the connection (ServiceBusy, ServiceTimeout, GeneralError, ServiceCommunicationProblem); retried (the messageId is stable, so duplicate detection absorbs a repeat).',
  },
  SERVICE_BUS_QUOTA_EXCEEDED: {
    retry: 'transient',
    hint: 'The queue or topic is full (QuotaExceeded); retried once its consumers drain it.',
  },
  SERVICE_BUS_UNAUTHORIZED: {
    retry: 'final',
    hint: 'Service Bus refused the credential or the claim (UnauthorizedAccess: wrong key, no Send right, missing Azure Service Bus Data Sender role); fix it, then replay.',
  },
  SERVICE_BUS_ENTITY_NOT_FOUND: {
    retry: 'final',
    hint: 'The queue or topic does not exist or is disabled (MessagingEntityNotFound, MessagingEntityDisabled); fix serviceBus.targets[].queue/topic, then replay.',
  },
  SERVICE_BUS_MESSAGE_TOO_LARGE: {
    retry: 'final',
    hint: "The outcome message exceeds the entity's maximum message size (MessageSizeExceeded); lower inlineResultMaxBytes so large results travel by reference.",
  },
  SERVICE_BUS_TARGET_NOT_ALLOWED: {
    retry: 'final',
    hint: 'The write-back names a Service Bus target that is not configured, or not open to this caller (serviceBus.targets[].callers).',
  },
  SERVICE_BUS_CREDENTIAL_FAILED: {
    retry: 'final',
    hint: "The namespace's Entra credential could not get a token, or its connection string is missing; fix it, then replay.",
  },
  SERVICE_BUS_MESSAGE_MALFORMED: {
    retry: 'final',
    hint: 'A Service Bus message is not a tool-call request (not JSON, or tool/arguments/writeBack/idempotencyKey invalid; details names the field); it was dead-lettered with this code.',
  },
  // Delivery in general.
  TARGET_UNSUPPORTED: { retry: 'final', hint: 'No handler is configured for this write-back target type.' },
  DELIVERY_ERROR: {
    retry: 'transient',
    hint: 'A delivery failed in a way its handler did not classify; retried, report if it persists.',
  },
} as const satisfies Record<string, FailureCodeEntry>;

export type CatalogFailureCode = keyof typeof failureCatalog;

/**
 * Salesforce's own error codes pass through prefixed (`SALESFORCE_FIELD_CUSTOM_VALIDATION_EXCEPTION`),
 * or `SALESFORCE_HTTP_<status>` when only the status is known; their class follows Salesforce's code.
 */
export type SalesforcePassThroughCode = `SALESFORCE_${string}`;

export type FailureCode = CatalogFailureCode | SalesforcePassThroughCode;

/**
 * What a record's `error.code` may hold: a failure code, or an HTTP catalog code for what the broker
 * itself decided (a refusal such as BROKER_TOOL_NOT_ALLOWED, BROKER_WORKER_ABANDONED).
 */
export type RecordErrorCode = FailureCode | ErrorCode;

export const failureCodes = Object.keys(failureCatalog) as CatalogFailureCode[];

export function isCatalogFailureCode(code: string): code is CatalogFailureCode {
  return Object.hasOwn(failureCatalog, code);
}

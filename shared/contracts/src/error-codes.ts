/**
 * Every stable error code the services emit, with its HTTP status and what a person should do.
 * `docs/errors.md` lists the same codes; a test keeps the two in step.
 */
export const errorCatalog = {
  BROKER_INTERNAL: { status: 500, hint: 'Unexpected server error; retry, and report the request id if it persists.' },
  BROKER_NOT_FOUND: { status: 404, hint: 'The route or resource does not exist.' },
  BROKER_BODY_TOO_LARGE: { status: 413, hint: 'Send a smaller body; the limit is named in the message.' },
  BROKER_UNSUPPORTED_MEDIA_TYPE: { status: 415, hint: 'Send Content-Type: application/json.' },
  BROKER_ORIGIN_FORBIDDEN: {
    status: 403,
    hint: 'Call from an allowed Origin, or from a server without an Origin header.',
  },
  BROKER_TOKEN_MISSING: { status: 401, hint: 'Send Authorization: Bearer <access token>.' },
  BROKER_TOKEN_INVALID: { status: 401, hint: 'Obtain a fresh token from a configured issuer for this resource.' },
  BROKER_CREDENTIALS_INVALID: {
    status: 401,
    hint: 'Send the Basic username and password configured for this caller.',
  },
  BROKER_AUTH_THROTTLED: {
    status: 429,
    hint: 'Too many failed logins; wait the seconds in Retry-After, then send the right credentials.',
  },
  BROKER_URI_TOO_LONG: { status: 414, hint: 'Send a shorter URL; ids and path segments have length limits.' },
  BROKER_TOOL_FORBIDDEN: { status: 403, hint: 'Grant the caller the permission named in the message.' },
  BROKER_RATE_LIMITED: { status: 429, hint: 'Wait for the number of seconds in Retry-After, then retry.' },
  BROKER_RATE_LIMIT_UNAVAILABLE: { status: 503, hint: 'The rate-limit store is unreachable; retry shortly.' },
  BROKER_JSONRPC_PARSE_ERROR: { status: 400, hint: 'Send a valid JSON body.' },
  BROKER_JSONRPC_INVALID_REQUEST: {
    status: 400,
    hint: 'Send one JSON-RPC 2.0 request object (batches are not accepted).',
  },
  BROKER_JSONRPC_INVALID_PARAMS: {
    status: 400,
    hint: 'Fix the params field named in the message (the MCP schema of the method).',
  },
  BROKER_JSONRPC_METHOD_NOT_FOUND: { status: 404, hint: 'Use initialize, ping, tools/list or tools/call.' },
  BROKER_INVALID_ARGUMENTS: { status: 400, hint: 'Fix the argument fields named in the message.' },
  BROKER_TOOL_NOT_FOUND: { status: 404, hint: 'Call tools/list for the tools this caller may use.' },
  BROKER_TOOL_TIMEOUT: { status: 504, hint: 'The tool exceeded its timeout; narrow the request or use the async API.' },
  BROKER_TOOL_CANCELLED: { status: 409, hint: 'The call was cancelled by the client.' },
  BROKER_SESSION_NOT_FOUND: {
    status: 404,
    hint: 'Open a new session (GET /sse) and post to the endpoint it announces.',
  },
  BROKER_METHOD_NOT_ALLOWED: { status: 405, hint: 'Use a method listed in the Allow header.' },
  BROKER_NOT_ACCEPTABLE: { status: 406, hint: 'Accept application/json (and text/event-stream on /mcp).' },
  BROKER_NOT_READY: { status: 503, hint: 'A dependency is not ready yet; retry shortly.' },
  BROKER_DOCUMENT_LINK_INVALID: { status: 403, hint: 'Ask for a new document link (generate_contract again).' },
  BROKER_MALFORMED_JSON: { status: 400, hint: 'Send a valid JSON body.' },
  BROKER_PAYLOAD_TOO_DEEP: {
    status: 400,
    hint: 'Flatten the payload; the nesting limit and where it was passed are named in the message.',
  },
  BROKER_VALIDATION_FAILED: { status: 400, hint: 'Fix the request fields named in the message.' },
  BROKER_IDEMPOTENCY_KEY_MISSING: { status: 400, hint: 'Send an Idempotency-Key header (1–255 characters).' },
  BROKER_IDEMPOTENCY_KEY_REUSED: { status: 422, hint: 'Use a new Idempotency-Key for a different request.' },
  BROKER_IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    hint: 'The first request with this key is still being accepted; retry shortly.',
  },
  BROKER_TOOL_NOT_ALLOWED: { status: 403, hint: "Ask for the tool to be added to this caller's allowlist." },
  BROKER_CALLBACK_NOT_ALLOWED: { status: 400, hint: "Use an https callback URL on this caller's allowlist." },
  BROKER_WRITE_BACK_NOT_ALLOWED: {
    status: 400,
    hint: 'Name a destination configured for this caller: salesforce.orgs[].caller, databricks.workspaces[].caller, serviceBus.targets[].callers or eventGrid.topics[].callers.',
  },
  BROKER_CALL_NOT_FOUND: { status: 404, hint: 'Check the id; callers see only their own calls.' },
  BROKER_CALL_FINAL: { status: 409, hint: 'The call has already finished; nothing to cancel.' },
  BROKER_ADMIN_REQUIRED: { status: 403, hint: 'Only callers with admin rights may do this.' },
  BROKER_WORKER_ABANDONED: {
    status: 500,
    hint: 'The queue gave up on the call (its worker kept dying); replay it from the dead letters.',
  },
  BROKER_SCHEDULE_NOT_FOUND: {
    status: 404,
    hint: 'Check the id; GET /v1/schedules lists the schedules this caller has.',
  },
  BROKER_SCHEDULE_DISABLED: { status: 409, hint: 'Enable the schedule in the broker configuration to start it.' },
  BROKER_SCHEDULE_BUSY: {
    status: 409,
    hint: 'A run of this schedule is still going (named in the message); wait for it or cancel it.',
  },
  BROKER_BATCH_RUN_NOT_FOUND: { status: 404, hint: 'Check the id; callers see only their own batch runs.' },
  BROKER_BATCH_RUN_FINAL: { status: 409, hint: 'The run has already finished; nothing to cancel.' },
  BROKER_EVENT_GRID_SUBSCRIPTION_UNKNOWN: {
    status: 404,
    hint: 'No Event Grid push subscription by that id (eventGrid.push[].id); check the webhook URL of the event subscription.',
  },
  BROKER_EVENT_GRID_KEY_INVALID: {
    status: 401,
    hint: "Send the subscription's key in its configured header (a secret delivery property of the event subscription).",
  },
  BROKER_EVENT_GRID_EVENT_INVALID: {
    status: 400,
    hint: 'Send Event Grid schema events (an array) or CloudEvents 1.0 (structured or batched); the field is named in the message.',
  },
  BROKER_EVENT_GRID_NO_ROUTE: {
    status: 400,
    hint: 'No route of the subscription matches the event type and subject; add a route or filter the event subscription.',
  },
  BROKER_EVENT_GRID_HANDSHAKE_INVALID: {
    status: 400,
    hint: 'The CloudEvents abuse-protection OPTIONS request needs a WebHook-Request-Origin header.',
  },
  BROKER_UPSTREAM_UNAVAILABLE: {
    status: 502,
    hint: 'The MCP endpoint could not be reached to check the tool; retry shortly.',
  },
} as const satisfies Record<string, { status: number; hint: string }>;

export type ErrorCode = keyof typeof errorCatalog;
export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];

/**
 * Test helpers: jsforce connections to the Salesforce sandbox, a recording tool-call sink and
 * logger, and a polling wait. Not exported from the package.
 */

import { randomUUID } from 'node:crypto';
import { type SalesforceOrgConfig, salesforceOrgSchema } from '@mcp-broker/broker-config';
import type { RecordErrorCode, ToolCallRequest } from '@mcp-broker/contracts';
import type { SalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { Redis } from 'ioredis';
import jsforce, { type Connection } from 'jsforce';
import type { SalesforceConnections } from '../src/channel-subscriber.ts';
import type { EventsLogger } from '../src/events-logger.ts';
import type { EventAcceptance, EventPosition, EventRefusal, ToolCallSink } from '../src/tool-call-sink.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const REQUEST_CHANNEL = '/event/MCP_Tool_Request__e';

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs` (generous: never a timing assertion). */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A client-credentials login to the sandbox, with a `refreshFn` that logs in again (as production must). */
export async function login(sandbox: SalesforceSandbox): Promise<Connection> {
  const oauth2 = { loginUrl: sandbox.loginUrl, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret };
  const tokens = new jsforce.OAuth2(oauth2);
  const conn = new jsforce.Connection({
    oauth2,
    version: sandbox.apiVersion,
    refreshFn: (_conn, callback) => {
      tokens.requestToken({ grant_type: 'client_credentials' }).then(
        (token) => callback(null, token.access_token, token),
        (error: Error) => callback(error),
      );
    },
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

/** `SalesforceConnections` over the sandbox, counting logins. */
export class SandboxConnections implements SalesforceConnections {
  logins = 0;
  reauthentications = 0;
  readonly #sandbox: SalesforceSandbox;
  #current: Promise<Connection> | undefined;

  constructor(sandbox: SalesforceSandbox) {
    this.#sandbox = sandbox;
  }

  connection(): Promise<Connection> {
    this.#current ??= this.#login();
    return this.#current;
  }

  reauthenticate(): Promise<Connection> {
    this.reauthentications += 1;
    this.#current = this.#login();
    return this.#current;
  }

  async #login(): Promise<Connection> {
    this.logins += 1;
    try {
      return await login(this.#sandbox);
    } catch (error) {
      this.#current = undefined;
      throw error;
    }
  }
}

export interface SubmittedCall {
  request: ToolCallRequest;
  context: EventPosition;
  created: boolean;
}

/** An event that did not become a tool call, with why and what its request held. */
export interface EventRejection extends EventPosition {
  /** `EVENT_*` from the mapping, or the sink's own refusal code (`BROKER_TOOL_NOT_ALLOWED`…). */
  code: string;
  reason: string;
  /** The request handed over with the refusal (what the mapping understood, the rest filled). */
  partial: ToolCallRequest;
}

/**
 * A `ToolCallSink` that records in arrays, idempotent by idempotency key, with injectable failures:
 * accepted calls in `submitted`, refused ones (by the mapping or by `refuse`) in `rejected`.
 */
export class RecordingSink implements ToolCallSink {
  readonly submitted: SubmittedCall[] = [];
  readonly rejected: EventRejection[] = [];
  /** Every accept call of a mapped event, including the ones that failed. */
  readonly attempts: EventPosition[] = [];
  /** How long each accept of a mapped event takes (to stop a subscriber mid-burst). Default 0. */
  delayMs = 0;
  /** Per event instead of `delayMs`: a slow sink whose calls finish out of order. */
  delayOf: ((context: EventPosition) => number) | undefined;
  /** Accepts of mapped events in progress now, and the most at once. */
  inFlight = 0;
  peakInFlight = 0;
  readonly #ids = new Map<string, string>();
  readonly #failures: { error: Error; before: (context: EventPosition) => Promise<void> }[] = [];
  readonly #refusals = new Map<string, RecordErrorCode>();

  /**
   * The next accept of a mapped event throws `error` (transient trouble: "store down"), after running
   * `before` (to look at the checkpoint at that moment).
   */
  failNext(
    error: Error = new Error('store unavailable'),
    before: (context: EventPosition) => Promise<void> = async () => undefined,
  ): void {
    this.#failures.push({ error, before });
  }

  /** Calls of `tool` are refused with `code`, as the broker refuses a tool not allowed. */
  refuse(tool: string, code: RecordErrorCode): void {
    this.#refusals.set(tool, code);
  }

  async accept(request: ToolCallRequest, context: EventPosition, refusal?: EventRefusal): Promise<EventAcceptance> {
    if (refusal) return this.#reject(request, context, refusal.code, refusal.message);
    this.attempts.push(context);
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      return await this.#accept(request, context);
    } finally {
      this.inFlight -= 1;
    }
  }

  async #accept(request: ToolCallRequest, context: EventPosition): Promise<EventAcceptance> {
    const delay = this.delayOf?.(context) ?? this.delayMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const failure = this.#failures.shift();
    if (failure) {
      await failure.before(context);
      throw failure.error;
    }
    const refused = this.#refusals.get(request.tool);
    if (refused) return this.#reject(request, context, refused, `Tool ${request.tool} is not allowed`);
    const existing = this.#ids.get(request.idempotencyKey);
    const id = existing ?? randomUUID();
    this.#ids.set(request.idempotencyKey, id);
    this.submitted.push({ request, context, created: existing === undefined });
    return { outcome: existing === undefined ? 'queued' : 'duplicate', id };
  }

  #reject(request: ToolCallRequest, context: EventPosition, code: RecordErrorCode, reason: string): EventAcceptance {
    this.rejected.push({ ...context, code, reason, partial: request });
    return { outcome: 'refused', code, message: reason, id: randomUUID() };
  }

  /** Replay ids of the calls created (first submissions). */
  createdReplayIds(): number[] {
    return this.submitted.filter((s) => s.created).map((s) => s.context.replayId);
  }

  /** Replay ids of every submission, repeats included. */
  submittedReplayIds(): number[] {
    return this.submitted.map((s) => s.context.replayId);
  }

  /** Replay ids handled (accepted or refused), in order of replay id. */
  handledReplayIds(): number[] {
    return [...this.submitted.map((s) => s.context.replayId), ...this.rejected.map((r) => r.replayId)].sort(
      (a, b) => a - b,
    );
  }
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  details: object;
  message: string;
}

/** Keeps log lines for assertions; prints nothing unless TEST_LOG_LEVEL=debug. */
export class RecordingLogger implements EventsLogger {
  readonly entries: LogEntry[] = [];
  debug(details: object, message: string): void {
    this.#add('debug', details, message);
  }
  info(details: object, message: string): void {
    this.#add('info', details, message);
  }
  warn(details: object, message: string): void {
    this.#add('warn', details, message);
  }
  error(details: object, message: string): void {
    this.#add('error', details, message);
  }
  #add(level: LogEntry['level'], details: object, message: string): void {
    this.entries.push({ level, details, message });
    if (process.env.TEST_LOG_LEVEL === 'debug') console.log(level, message, details);
  }
}

/** A configured org (parsed by the real schema, so defaults apply) pointing at the sandbox. */
export function sandboxOrg(
  sandbox: SalesforceSandbox,
  overrides: { id?: string; channels?: unknown[] } = {},
): SalesforceOrgConfig {
  return salesforceOrgSchema.parse({
    id: overrides.id ?? 'acme',
    caller: 'salesforce-acme',
    loginUrl: sandbox.loginUrl,
    apiVersion: sandbox.apiVersion,
    auth: { type: 'client-credentials', clientId: sandbox.clientId, clientSecret: { fromEnv: 'SF_CLIENT_SECRET' } },
    ...(overrides.channels ? { channels: overrides.channels } : {}),
  });
}

/** A Redis client and a key prefix unique to this run; `cleanup()` deletes the prefix's keys and quits. */
export function testRedis(): { redis: Redis; prefix: string; cleanup: () => Promise<void> } {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefix = `test:salesforce-events:${randomUUID()}:`;
  return {
    redis,
    prefix,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

import {
  type BrokerQueues,
  lifecycle,
  publishCancel,
  type ToolCallIntake,
  type ToolCallRepository,
} from '@mcp-broker/broker';
import type { CallerConfig } from '@mcp-broker/broker-config';
import {
  assertJsonTextDepth,
  BrokerError,
  type CreateToolCallBody,
  DEFAULT_MAX_JSON_DEPTH,
  finalStatuses,
  isToolCallId,
  type ToolCallRecord,
  type ToolCallRequest,
  type ToolCallStatus,
} from '@mcp-broker/contracts';
import type { Redis } from 'ioredis';
import { decodePageToken, encodePageToken, invalidPageToken, pageQueryKey } from './page-token.ts';
import { toWriteBackTargets } from './write-back-targets.ts';

export interface ToolCallServiceOptions {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  redis: Redis;
  /** Redis key prefix (cancel channel). */
  prefix: string;
  /** Where submissions are checked, recorded and queued (shared with the connectors). */
  intake: ToolCallIntake;
  /** Deepest nesting of `argumentsJson` (the body itself is bounded by the HTTP parser). Default 64. */
  maxJsonDepth?: number;
  /** Poll interval while `?wait` holds a request, in ms. Default 250. */
  waitPollMs?: number;
}

/**
 * The asynchronous tool-call API's behaviour, independent of HTTP: ingress routes call this;
 * submissions go through the same `ToolCallIntake.accept` the connectors use.
 */
export class ToolCallService {
  readonly #o: ToolCallServiceOptions;

  constructor(options: ToolCallServiceOptions) {
    this.#o = options;
  }

  /**
   * Validates, records and enqueues; `created: false` when the idempotency key replays a call. A
   * refusal is answered (thrown, a 4xx) and not recorded: the caller is there to hear it.
   */
  async submit(
    caller: CallerConfig,
    body: CreateToolCallBody,
    idempotencyKey: string | undefined,
    correlation: { requestId: string; traceparent?: string },
  ): Promise<{ created: boolean; record: ToolCallRecord }> {
    const request: ToolCallRequest = {
      tool: body.tool,
      arguments: this.#arguments(body),
      writeBack: toWriteBackTargets(body.writeBack),
      // Missing is the intake's refusal to give (BROKER_IDEMPOTENCY_KEY_MISSING), after the body's own checks.
      idempotencyKey: oneIdempotencyKey(idempotencyKey, body.idempotencyKey) ?? '',
      source: { kind: 'api' },
      correlation,
    };
    const acceptance = await this.#o.intake.accept(caller, request, { recordRefusal: false });
    if (acceptance.outcome === 'refused') throw acceptance.reason;
    return { created: acceptance.outcome === 'queued', record: acceptance.record };
  }

  /** `arguments` as an object, or `argumentsJson` (for External Services, which cannot send a free-form object). */
  #arguments(body: CreateToolCallBody): Record<string, unknown> {
    if (body.argumentsJson === undefined) return body.arguments ?? {};
    const invalid = (problem: string) =>
      new BrokerError('BROKER_VALIDATION_FAILED', `Invalid request: body.argumentsJson: ${problem}.`, {
        details: { fields: [{ field: 'body.argumentsJson', problem }] },
      });
    if (body.arguments !== undefined) throw invalid('send either arguments or argumentsJson, not both');
    assertJsonTextDepth(body.argumentsJson, this.#o.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH, 'body.argumentsJson');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.argumentsJson);
    } catch {
      throw invalid('not valid JSON');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('must be a JSON object');
    return parsed as Record<string, unknown>;
  }

  async get(caller: CallerConfig, id: string): Promise<ToolCallRecord> {
    const record = isToolCallId(id) ? await this.#o.repository.get(caller.id, id) : undefined;
    // Another caller's call is indistinguishable from a missing one.
    if (!record) throw new BrokerError('BROKER_CALL_NOT_FOUND', `No tool call "${id.slice(0, 80)}" for this caller.`);
    return record;
  }

  /** Holds until the call is final or `seconds` pass (capped at 100, under Salesforce's 120 s). */
  async wait(caller: CallerConfig, id: string, seconds: number, signal?: AbortSignal): Promise<ToolCallRecord> {
    const deadline = Date.now() + Math.min(100, Math.max(0, seconds)) * 1000;
    let record = await this.get(caller, id);
    while (!finalStatuses.includes(record.status) && Date.now() < deadline && !signal?.aborted) {
      await new Promise((r) => setTimeout(r, Math.min(this.#o.waitPollMs ?? 250, Math.max(0, deadline - Date.now()))));
      record = await this.get(caller, id);
    }
    return record;
  }

  async cancel(caller: CallerConfig, id: string): Promise<ToolCallRecord> {
    const record = await this.get(caller, id);
    if (finalStatuses.includes(record.status)) {
      throw new BrokerError(
        'BROKER_CALL_FINAL',
        `Tool call ${id} already ended (${record.status}); nothing to cancel.`,
      );
    }
    if (await this.#o.queues.removeQueuedToolCall(caller.id, id, record.replays ?? 0)) {
      const cancelled = await this.#o.repository.apply(caller.id, id, (current, now) =>
        lifecycle.cancel(current, now, 'cancelled while queued'),
      );
      if (cancelled?.changed) await this.#o.queues.enqueueWriteBacksFor(cancelled.record);
      return cancelled?.record ?? record;
    }
    // Running (or about to run): flag it, and tell the worker holding it to abort the MCP call.
    const flagged = await this.#o.repository.apply(caller.id, id, lifecycle.flagCancel);
    await publishCancel(this.#o.redis, this.#o.prefix, id);
    return flagged?.record ?? record;
  }

  async list(
    caller: CallerConfig,
    options: { status?: ToolCallStatus; tool?: string; limit: number; pageToken?: string },
  ): Promise<{ items: ToolCallRecord[]; nextPageToken?: string }> {
    const queryKey = pageQueryKey('tool-calls', { caller: caller.id, status: options.status, tool: options.tool });
    const continuation = options.pageToken ? decodePageToken(options.pageToken, queryKey) : undefined;
    const page = await storeRefusesForgedToken(continuation, () =>
      this.#o.repository.list(caller.id, {
        limit: options.limit,
        ...(options.status ? { status: options.status } : {}),
        ...(options.tool ? { tool: options.tool } : {}),
        ...(continuation ? { continuation } : {}),
      }),
    );
    return {
      items: page.items,
      ...(page.continuation ? { nextPageToken: encodePageToken(page.continuation, queryKey) } : {}),
    };
  }

  /** Dead letters, newest first, paged like the call list; of one caller when `ofCaller` is given. */
  async deadLetters(
    caller: CallerConfig,
    options: { limit: number; ofCaller?: string; pageToken?: string },
  ): Promise<{ items: ToolCallRecord[]; nextPageToken?: string }> {
    this.#requireAdmin(caller);
    const queryKey = pageQueryKey('dead-letters', { caller: options.ofCaller });
    const continuation = options.pageToken ? decodePageToken(options.pageToken, queryKey) : undefined;
    const page = await storeRefusesForgedToken(continuation, () =>
      this.#o.repository.deadLetterPage({
        limit: options.limit,
        ...(options.ofCaller ? { caller: options.ofCaller } : {}),
        ...(continuation ? { continuation } : {}),
      }),
    );
    return {
      items: page.items,
      ...(page.continuation ? { nextPageToken: encodePageToken(page.continuation, queryKey) } : {}),
    };
  }

  /**
   * Replays up to `limit` of a caller's calls dead-lettered before `before` (default: now). The
   * horizon is what makes repeating the request safe: a replayed call that dead-letters again is
   * newer than it, so one sweep replays each call at most once; repeat with the returned `before`
   * while `more` is true.
   */
  async replayAll(
    caller: CallerConfig,
    options: { ofCaller: string; limit: number; before?: string },
  ): Promise<{ replayed: string[]; skipped: string[]; more: boolean; before: string }> {
    this.#requireAdmin(caller);
    const before = options.before ?? new Date().toISOString();
    const page = await this.#o.repository.deadLetterPage({
      limit: options.limit,
      caller: options.ofCaller,
      updatedBefore: before,
    });
    const replayed: string[] = [];
    const skipped: string[] = [];
    for (const record of page.items) {
      try {
        await this.replay(caller, record.id, record);
        replayed.push(record.id);
      } catch (err) {
        // Replayed (or removed) by someone else since the page was read: nothing to do for it.
        if (
          (err as { code?: string }).code === 'BROKER_CALL_FINAL' ||
          (err as { code?: string }).code === 'BROKER_CALL_NOT_FOUND'
        )
          skipped.push(record.id);
        else throw err;
      }
    }
    return { replayed, skipped, more: page.continuation !== undefined, before };
  }

  /** Puts a dead-lettered call back on its queue as a new generation with fresh deliveries. */
  async replay(caller: CallerConfig, id: string, known?: ToolCallRecord): Promise<ToolCallRecord> {
    this.#requireAdmin(caller);
    const found = known ?? (await this.#o.repository.findById(id));
    if (!found || !lifecycle.isDeadLetter(found)) {
      throw new BrokerError('BROKER_CALL_NOT_FOUND', `No dead-lettered tool call "${id.slice(0, 80)}".`);
    }
    const replayed = await this.#o.repository.apply(found.caller, id, (current, now) =>
      lifecycle.replay(current, now, caller.id),
    );
    if (!replayed?.changed) throw new BrokerError('BROKER_CALL_FINAL', `Tool call ${id} is no longer dead-lettered.`);
    await this.#o.queues.enqueueToolCall({ callId: id, caller: replayed.record.caller }, replayed.record.replays ?? 0);
    return replayed.record;
  }

  #requireAdmin(caller: CallerConfig) {
    if (!caller.admin) throw new BrokerError('BROKER_ADMIN_REQUIRED', `Caller "${caller.id}" is not an admin.`);
  }
}

// A token can pass the envelope check and still carry a continuation the store cannot read (an
// edited one); the store answers 400 for that, which is the client's fault, not a 500.
async function storeRefusesForgedToken<T>(continuation: string | undefined, read: () => Promise<T>): Promise<T> {
  if (!continuation) return read();
  try {
    return await read();
  } catch (err) {
    if ((err as { code?: unknown }).code === 400) throw invalidPageToken('refused by the store');
    throw err;
  }
}

/** The header (the IETF draft's way) or the body field (External Services' way); both must agree. */
function oneIdempotencyKey(header: string | undefined, body: string | undefined): string | undefined {
  if (header !== undefined && body !== undefined && header !== body) {
    throw new BrokerError(
      'BROKER_VALIDATION_FAILED',
      'Invalid request: body.idempotencyKey: differs from the Idempotency-Key header; send one of them.',
      { details: { fields: [{ field: 'body.idempotencyKey', problem: 'differs from the Idempotency-Key header' }] } },
    );
  }
  return header ?? body;
}

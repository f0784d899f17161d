import { type CallerConfig, resolveSecret } from '@mcp-broker/broker-config';
import {
  BrokerError,
  type CreateToolCallBody,
  finalStatuses,
  type ToolCallRecord,
  type ToolCallStatus,
} from '@mcp-broker/contracts';
import type { BrokerQueues } from '@mcp-broker/queues';
import { type ToolCallRepository, toolCallId } from '@mcp-broker/tool-call-store';
import { CallbackUrlRejected, checkCallbackUrl } from '@mcp-broker/write-back';
import type { Redis } from 'ioredis';
import type { ArgumentValidator } from './argument-validator.ts';

export interface ToolCallServiceOptions {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  redis: Redis;
  /** Redis key prefix (idempotency locks, cancel channel). */
  prefix: string;
  validator: ArgumentValidator;
  /** Where secrets referenced by the configuration are read. */
  env: Record<string, string | undefined>;
  /** Poll interval while `?wait` holds a request, in ms. Default 250. */
  waitPollMs?: number;
}

/**
 * The asynchronous tool-call API's behaviour, independent of HTTP: ingress routes call this, and
 * later connectors (Salesforce, Databricks) submit through the same `submit`.
 */
export class ToolCallService {
  readonly #o: ToolCallServiceOptions;

  constructor(options: ToolCallServiceOptions) {
    this.#o = options;
  }

  /** Validates, records and enqueues; `created: false` when the idempotency key replays a call. */
  async submit(
    caller: CallerConfig,
    body: CreateToolCallBody,
    idempotencyKey: string | undefined,
    correlation: { requestId: string; traceparent?: string },
  ): Promise<{ created: boolean; record: ToolCallRecord }> {
    if (!idempotencyKey || idempotencyKey.length > 255) {
      throw new BrokerError(
        'BROKER_IDEMPOTENCY_KEY_MISSING',
        'Send an Idempotency-Key header of 1–255 characters (for example a UUID per logical call).',
      );
    }
    if (!caller.tools.includes('*') && !caller.tools.includes(body.tool)) {
      throw new BrokerError(
        'BROKER_TOOL_NOT_ALLOWED',
        `Tool "${body.tool}" is not on caller "${caller.id}"'s allowlist.`,
        {
          details: { tool: body.tool },
        },
      );
    }
    this.#checkCallbacks(caller, body);
    const problems = await this.#o.validator.validate(caller, body.tool, body.arguments);
    if (problems.kind === 'unknown_tool') {
      throw new BrokerError('BROKER_TOOL_NOT_FOUND', `The MCP endpoint offers no tool "${body.tool}" to this caller.`, {
        details: { tool: body.tool },
      });
    }
    if (problems.kind === 'invalid') {
      throw new BrokerError(
        'BROKER_INVALID_ARGUMENTS',
        `Invalid arguments for tool "${body.tool}": ${problems.fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
        { details: { tool: body.tool, fields: problems.fields } },
      );
    }

    // The IETF Idempotency-Key draft: a second request while the first is still being accepted is 409.
    const lock = `${this.#o.prefix}idem:${toolCallId(caller.id, idempotencyKey)}`;
    const acquired = await this.#o.redis.set(lock, correlation.requestId, 'PX', 15_000, 'NX');
    if (acquired !== 'OK') {
      throw new BrokerError(
        'BROKER_IDEMPOTENCY_IN_PROGRESS',
        'A request with this Idempotency-Key is still being accepted; retry in a moment.',
      );
    }
    try {
      const outcome = await this.#o.repository.create({
        caller: caller.id,
        endpoint: caller.upstream.endpoint,
        tool: body.tool,
        arguments: body.arguments,
        idempotencyKey,
        source: { kind: 'api' },
        writeBack: body.writeBack,
        correlation,
      });
      if (outcome.kind === 'conflict') {
        throw new BrokerError(
          'BROKER_IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was already used with a different request body.',
          { details: { id: outcome.record.id } },
        );
      }
      // Enqueue also for a replay still queued: a crash between recording and enqueueing is repaired
      // here, and the job id derived from the call makes a second enqueue a no-op.
      if (outcome.record.status === 'queued') {
        await this.#o.queues.enqueueToolCall(
          { callId: outcome.record.id, caller: caller.id },
          outcome.record.replays ?? 0,
        );
      }
      return { created: outcome.kind === 'created', record: outcome.record };
    } finally {
      await this.#o.redis.del(lock).catch(() => {});
    }
  }

  #checkCallbacks(caller: CallerConfig, body: CreateToolCallBody) {
    body.writeBack.forEach((target, i) => {
      if (target.type !== 'http-callback') return;
      try {
        checkCallbackUrl(target.url, { hosts: caller.callbackHosts, allowPrivate: caller.allowPrivateCallbacks });
      } catch (err) {
        if (!(err instanceof CallbackUrlRejected)) throw err;
        throw new BrokerError('BROKER_CALLBACK_NOT_ALLOWED', `writeBack[${i}].url: ${err.message}`, {
          details: { field: `writeBack[${i}].url` },
        });
      }
      if (!caller.callbackSigningSecret) {
        throw new BrokerError(
          'BROKER_CALLBACK_NOT_ALLOWED',
          `writeBack[${i}]: caller "${caller.id}" has no callbackSigningSecret configured, so callbacks cannot be signed.`,
          { details: { field: `writeBack[${i}]` } },
        );
      }
      resolveSecret(caller.callbackSigningSecret, this.#o.env);
    });
  }

  async get(caller: CallerConfig, id: string): Promise<ToolCallRecord> {
    const record = /^tc_[0-9a-f]{40}$/.test(id) ? await this.#o.repository.get(caller.id, id) : undefined;
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
      const cancelled = await this.#o.repository.update(caller.id, id, (current, now) =>
        finalStatuses.includes(current.status)
          ? undefined
          : {
              ...current,
              status: 'cancelled' as ToolCallStatus,
              cancelRequested: true,
              completedAt: now,
              history: [
                ...current.history,
                { status: 'cancelled' as ToolCallStatus, at: now, note: 'cancelled while queued' },
              ],
            },
      );
      if (cancelled) await this.#o.queues.enqueueWriteBacksFor(cancelled);
      return cancelled ?? record;
    }
    // Running (or about to run): flag it, and tell the worker holding it to abort the MCP call.
    const flagged = await this.#o.repository.update(caller.id, id, (current) =>
      finalStatuses.includes(current.status) ? undefined : { ...current, cancelRequested: true },
    );
    await this.#o.redis.publish(`${this.#o.prefix}broker:cancel`, id);
    return flagged ?? record;
  }

  list(caller: CallerConfig, options: { status?: ToolCallStatus; tool?: string; limit: number; pageToken?: string }) {
    return this.#o.repository.list(caller.id, {
      limit: options.limit,
      ...(options.status ? { status: options.status } : {}),
      ...(options.tool ? { tool: options.tool } : {}),
      ...(options.pageToken ? { continuation: options.pageToken } : {}),
    });
  }

  deadLetters(caller: CallerConfig, limit: number) {
    this.#requireAdmin(caller);
    return this.#o.repository.deadLetters(limit);
  }

  /** Puts a dead-lettered call back on its queue as a new generation with fresh deliveries. */
  async replay(caller: CallerConfig, id: string): Promise<ToolCallRecord> {
    this.#requireAdmin(caller);
    const found = await this.#o.repository.findById(id);
    if (found?.status !== 'failed' || !found.error?.deadLettered) {
      throw new BrokerError('BROKER_CALL_NOT_FOUND', `No dead-lettered tool call "${id.slice(0, 80)}".`);
    }
    const replayed = await this.#o.repository.update(found.caller, id, (current, now) => {
      if (current.status !== 'failed' || !current.error?.deadLettered) return undefined;
      const { error: _e, completedAt: _c, progress: _p, cancelRequested: _x, ...rest } = current;
      return {
        ...rest,
        status: 'queued' as ToolCallStatus,
        attempts: 0,
        replays: (current.replays ?? 0) + 1,
        deliveries: current.deliveries.map((d) => ({ target: d.target, status: 'pending' as const, attempts: 0 })),
        history: [
          ...current.history,
          { status: 'queued' as ToolCallStatus, at: now, note: `replayed by ${caller.id}` },
        ],
      };
    });
    if (!replayed) throw new BrokerError('BROKER_CALL_FINAL', `Tool call ${id} is no longer dead-lettered.`);
    await this.#o.queues.enqueueToolCall({ callId: id, caller: replayed.caller }, replayed.replays ?? 0);
    return replayed;
  }

  #requireAdmin(caller: CallerConfig) {
    if (!caller.admin) throw new BrokerError('BROKER_ADMIN_REQUIRED', `Caller "${caller.id}" is not an admin.`);
  }
}

import type { BrokerConfig, CallerConfig } from '@mcp-broker/broker-config';
import {
  BrokerError,
  type RecordErrorCode,
  type ToolCallJob,
  type ToolCallRecord,
  type ToolCallRequest,
  type WriteBackTarget,
} from '@mcp-broker/contracts';
import type { ToolCatalog } from '@mcp-broker/mcp-client';
import type { Redis } from 'ioredis';
import type { BrokerQueues } from '../queues/broker-queues.ts';
import { toolCallId } from '../record/tool-call-id.ts';
import { type RecordedFailure, refuse } from '../record/tool-call-lifecycle.ts';
import type { ToolCallRepository } from '../record/tool-call-repository.ts';
import type { ArgumentValidator } from './argument-validator.ts';
import { CatalogArgumentValidator } from './catalog-argument-validator.ts';
import { type HeldLock, IdempotencyLocks } from './idempotency-lock.ts';
import { WriteBackPolicy } from './write-back-policy.ts';

/**
 * The largest record (as JSON) a new call's job carries to the worker to save it a read; above
 * it the worker reads the record, so a queue never holds large arguments.
 */
export const MAX_CARRIED_RECORD_CHARS = 16 * 1024;

/** What became of a request handed to `accept`. */
export type Acceptance =
  /** A new call: recorded and enqueued. */
  | { outcome: 'queued'; record: ToolCallRecord }
  /** The idempotency key replays a call already recorded: the same call, nothing new. */
  | { outcome: 'duplicate'; record: ToolCallRecord }
  /**
   * The call will never run. `reason` is the broker error a synchronous source answers with
   * (`reason.status`); `record` is the call's record under the key when the refusal was recorded.
   */
  | { outcome: 'refused'; reason: BrokerError; record?: ToolCallRecord };

/**
 * What became of one request of a group handed to `acceptMany`: what `accept` returns, or
 * `failed` with what `accept` would have thrown (transient trouble: the store or Redis down,
 * `BROKER_IDEMPOTENCY_IN_PROGRESS`, the tool list not reachable). A `failed` request is not
 * known to be recorded and queued, so its source must not acknowledge it (the others of the
 * group are done, each on its own).
 */
export type ManyAcceptance = Acceptance | { outcome: 'failed'; error: unknown };

export interface AcceptOptions {
  /** The source found the request unusable itself (a malformed event): record this refusal, check nothing else. */
  refusal?: RecordedFailure;
  /**
   * Record a refusal as a failed call and write it back to the targets the caller may use (default
   * true). The synchronous API passes false: it answers 4xx and stores nothing.
   */
  recordRefusal?: boolean;
  /**
   * The trace context the request was handed in (`activeTraceContext()` then), for `acceptMany`,
   * which runs in one context for the whole group: the call's queue `add` span is its child.
   */
  traceContext?: unknown;
}

export interface ToolCallIntakeOptions {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  redis: Redis;
  /** Redis key prefix (idempotency locks). */
  prefix: string;
  validator: ArgumentValidator;
  writeBackPolicy: WriteBackPolicy;
}

/**
 * Step 1 and 2 of the one path every call takes: check a request (allowlist, write-back targets,
 * arguments against the endpoint's tool list), record it and queue it. Every source (the async
 * API, Salesforce platform events and the other connectors) hands its calls to `accept`, so they
 * refuse the same things the same way and share one idempotency rule.
 */
export class ToolCallIntake {
  readonly #o: ToolCallIntakeOptions;

  readonly #locks: IdempotencyLocks;

  constructor(options: ToolCallIntakeOptions) {
    this.#o = options;
    this.#locks = new IdempotencyLocks(options.redis);
  }

  /**
   * Checks, records and enqueues one request on `caller`'s behalf: `queued`, `duplicate` or
   * `refused` (recorded as a failed call unless `recordRefusal` is false). Throws only for
   * transient trouble (the store or Redis down, `BROKER_IDEMPOTENCY_IN_PROGRESS`, the tool list
   * not reachable): the source must not acknowledge, so the request comes again.
   */
  async accept(caller: CallerConfig, request: ToolCallRequest, options: AcceptOptions = {}): Promise<Acceptance> {
    const reason = options.refusal ? sourceRefusal(options.refusal) : await this.#refusalOf(caller, request);
    if (reason) {
      // Without a usable key there is no record to make: its id derives from the key.
      if (options.recordRefusal === false || !usableKey(request.idempotencyKey)) return { outcome: 'refused', reason };
      return this.#recordRefusal(caller, request, reason, options.refusal ?? reason);
    }

    // The IETF Idempotency-Key draft: a second request while the first is still being accepted is 409.
    const lock = await this.#locks.acquire(this.#lockKey(caller, request.idempotencyKey));
    if (!lock) return this.#whileLocked(caller, request);
    try {
      // Asked while the store writes the record, to spare the 202 a round trip: a new call's job id
      // is free nearly always. Undefined (the normal check follows) when Redis did not answer.
      const jobAbsent = this.#o.queues
        .toolCallJobAbsent(caller.id, toolCallId(caller.id, request.idempotencyKey))
        .catch(() => undefined);
      const outcome = await this.#o.repository.create(caller.id, caller.upstream.endpoint, request);
      if (outcome.kind === 'conflict') return { outcome: 'refused', reason: keyReused(outcome.record) };
      // Enqueue also for a replay still queued: a crash between recording and enqueueing is repaired
      // here, and the job id derived from the call makes a second enqueue a no-op.
      const knownAbsent = outcome.kind === 'created' && (await jobAbsent) === true;
      await this.#enqueueIfQueued(caller, outcome.record, outcome.kind === 'created', knownAbsent);
      return { outcome: outcome.kind === 'created' ? 'queued' : 'duplicate', record: outcome.record };
    } finally {
      // Not awaited: the answer need not wait for the release's round trip. A resend arriving
      // before it lands meets the lock with the record made, and is answered as that call
      // (`#whileLocked`); a release that fails is retried by the lock itself.
      void lock.release();
    }
  }

  /**
   * `accept` for a group of requests of one caller (a channel's events handed in together): one
   * outcome per request, in order, each what `accept` would have made of it on its own — or
   * `failed` with what it would have thrown (see `ManyAcceptance`). It is `accept` with the round
   * trips shared: the idempotency locks taken and released in one pipeline each, the new records
   * written in Cosmos transactional batches, the jobs checked and added in one pipeline each.
   *
   * Refused requests take `accept`'s own path (they are rare and write back). A key seen earlier
   * in the group (accepted or refused) is handed to `accept` once the group is done: it is then
   * the duplicate (or the key reuse) of its first request, as when the two come one after the
   * other, rather than a `BROKER_IDEMPOTENCY_IN_PROGRESS` against its own group or a race with it.
   */
  async acceptMany(
    caller: CallerConfig,
    requests: readonly ToolCallRequest[],
    options: readonly AcceptOptions[] = [],
  ): Promise<ManyAcceptance[]> {
    const out: (ManyAcceptance | undefined)[] = new Array(requests.length);
    // What a request does on its own path is traced under its own request, not the group's first.
    const settle = async (i: number, work: () => Promise<Acceptance>) => {
      try {
        out[i] = await this.#o.queues.withTraceContext(options[i]?.traceContext, work);
      } catch (error) {
        out[i] = { outcome: 'failed', error };
      }
    };
    // Checked first, all at once (the tool list is cached): what is refused is settled alone.
    const reasons = await Promise.all(
      requests.map(async (request, i) => {
        const refusal = options[i]?.refusal;
        try {
          return refusal ? sourceRefusal(refusal) : await this.#refusalOf(caller, request);
        } catch (error) {
          out[i] = { outcome: 'failed', error };
          return undefined;
        }
      }),
    );
    const alone: Promise<void>[] = [];
    const later: number[] = [];
    const group: number[] = [];
    const firstOfKey = new Set<string>();
    for (const [i, request] of requests.entries()) {
      if (out[i]) continue;
      const reason = reasons[i];
      const option = options[i] ?? {};
      // A key seen before in the group, whatever became of it (a refusal is recorded under its key too).
      if (usableKey(request.idempotencyKey) && firstOfKey.has(request.idempotencyKey)) {
        later.push(i);
        continue;
      }
      if (usableKey(request.idempotencyKey)) firstOfKey.add(request.idempotencyKey);
      if (reason) {
        alone.push(
          settle(i, async () =>
            option.recordRefusal === false || !usableKey(request.idempotencyKey)
              ? { outcome: 'refused', reason }
              : this.#recordRefusal(caller, request, reason, option.refusal ?? reason),
          ),
        );
      } else {
        group.push(i);
      }
    }
    await Promise.all([...alone, this.#acceptGroup(caller, requests, options, group, out)]);
    // After the group's locks are released: each is its first request's duplicate (or key reuse).
    await Promise.all(
      later.map((i) => settle(i, () => this.accept(caller, requests[i] as ToolCallRequest, options[i]))),
    );
    return out as ManyAcceptance[];
  }

  /** The shared round trips of `acceptMany`, for the requests at `indexes` (checked, distinct keys). */
  async #acceptGroup(
    caller: CallerConfig,
    requests: readonly ToolCallRequest[],
    options: readonly AcceptOptions[],
    indexes: readonly number[],
    out: (ManyAcceptance | undefined)[],
  ): Promise<void> {
    if (indexes.length === 0) return;
    const failAll = (at: readonly number[], error: unknown) => {
      for (const i of at) out[i] = { outcome: 'failed', error };
    };
    let locks: (HeldLock | undefined)[];
    try {
      locks = await this.#locks.acquireMany(
        indexes.map((i) => this.#lockKey(caller, (requests[i] as ToolCallRequest).idempotencyKey)),
      );
    } catch (error) {
      return failAll(indexes, error);
    }
    const held = indexes.filter((_, n) => locks[n]);
    try {
      const contended = indexes
        .filter((_, n) => !locks[n])
        .map(async (i) => {
          try {
            out[i] = await this.#o.queues.withTraceContext(options[i]?.traceContext, () =>
              this.#whileLocked(caller, requests[i] as ToolCallRequest),
            );
          } catch (error) {
            out[i] = { outcome: 'failed', error };
          }
        });
      const created = await this.#o.repository.createMany(
        caller.id,
        caller.upstream.endpoint,
        held.map((i) => requests[i] as ToolCallRequest),
      );
      const toQueue: number[] = [];
      for (const [n, i] of held.entries()) {
        const outcome = created[n];
        if (!outcome || outcome.kind === 'failed') {
          out[i] = { outcome: 'failed', error: outcome?.error ?? new Error('no outcome') };
        } else if (outcome.kind === 'conflict') {
          out[i] = { outcome: 'refused', reason: keyReused(outcome.record) };
        } else {
          out[i] = { outcome: outcome.kind === 'created' ? 'queued' : 'duplicate', record: outcome.record };
          // Also a replay still queued: a crash between recording and enqueueing is repaired here.
          if (outcome.record.status === 'queued') toQueue.push(i);
        }
      }
      try {
        await this.#o.queues.enqueueToolCalls(
          toQueue.map((i) => {
            const acceptance = out[i] as Extract<Acceptance, { outcome: 'queued' | 'duplicate' }>;
            return {
              ...this.#jobOf(caller, acceptance.record, acceptance.outcome === 'queued'),
              traceContext: options[i]?.traceContext,
            };
          }),
        );
      } catch (error) {
        // Recorded but maybe not queued: not acknowledged, so the redelivery enqueues it (as a replay still queued).
        failAll(toQueue, error);
      }
      await Promise.all(contended);
    } finally {
      await this.#locks.releaseMany(locks.filter((l): l is HeldLock => l !== undefined));
    }
  }

  #lockKey(caller: CallerConfig, idempotencyKey: string): string {
    return `${this.#o.prefix}idem:${toolCallId(caller.id, idempotencyKey)}`;
  }

  /**
   * A request whose key's lock another request holds. The holder may be gone (a worker killed
   * mid-accept keeps its lock until it expires). Once the key's record exists, the request is that
   * call whatever the holder does next, so it is answered as a duplicate (queued again if still
   * queued, a no-op when its job exists) rather than refused until the lock lapses: a resumed
   * batch run follows its in-flight record at once.
   */
  async #whileLocked(caller: CallerConfig, request: ToolCallRequest): Promise<Acceptance> {
    const found = await this.#o.repository.find(caller.id, caller.upstream.endpoint, request);
    if (found?.kind === 'conflict') return { outcome: 'refused', reason: keyReused(found.record) };
    if (found) {
      await this.#enqueueIfQueued(caller, found.record, false);
      return { outcome: 'duplicate', record: found.record };
    }
    throw new BrokerError(
      'BROKER_IDEMPOTENCY_IN_PROGRESS',
      'A request with this Idempotency-Key is still being accepted; retry in a moment.',
    );
  }

  /** The job of a queued record. */
  #jobOf(caller: CallerConfig, record: ToolCallRecord, created: boolean): { job: ToolCallJob; replay: number } {
    // A new, small record goes with its job, so the worker's first write skips reading it back.
    // Large ones (arguments up to the body limit) are read instead: Redis holds ids, not payloads.
    const etag =
      created && JSON.stringify(record).length <= MAX_CARRIED_RECORD_CHARS
        ? this.#o.repository.etagOf(record)
        : undefined;
    return {
      job: { callId: record.id, caller: caller.id, ...(etag ? { created: { record, etag } } : {}) },
      replay: record.replays ?? 0,
    };
  }

  /** The trace context to pass as `traceContext` with a request handed to `acceptMany` later. */
  activeTraceContext(): unknown {
    return this.#o.queues.activeTraceContext();
  }

  /** Runs `fn` under a trace context `activeTraceContext()` gave (a group under its first request's). */
  withTraceContext<T>(traceContext: unknown, fn: () => T): T {
    return this.#o.queues.withTraceContext(traceContext, fn);
  }

  async #enqueueIfQueued(
    caller: CallerConfig,
    record: ToolCallRecord,
    created: boolean,
    knownAbsent = false,
  ): Promise<void> {
    if (record.status !== 'queued') return;
    const { job, replay } = this.#jobOf(caller, record, created);
    await this.#o.queues.enqueueToolCall(job, replay, { knownAbsent: knownAbsent && replay === 0 });
  }

  /** The first reason the broker refuses the request, or undefined; other failures (the tool list unreachable) throw. */
  async #refusalOf(caller: CallerConfig, request: ToolCallRequest): Promise<BrokerError | undefined> {
    if (!usableKey(request.idempotencyKey)) {
      return new BrokerError(
        'BROKER_IDEMPOTENCY_KEY_MISSING',
        'Send an Idempotency-Key header of 1–255 characters (for example a UUID per logical call).',
      );
    }
    if (!caller.tools.includes('*') && !caller.tools.includes(request.tool)) {
      return new BrokerError(
        'BROKER_TOOL_NOT_ALLOWED',
        `Tool "${request.tool}" is not on caller "${caller.id}"'s allowlist.`,
        { details: { tool: request.tool } },
      );
    }
    const refused = this.#writeBackRefusal(caller, request.writeBack);
    if (refused) return refused;
    const problems = await this.#o.validator.validate(caller, request.tool, request.arguments);
    if (problems.kind === 'unknown_tool') {
      return new BrokerError(
        'BROKER_TOOL_NOT_FOUND',
        `The MCP endpoint offers no tool "${request.tool}" to this caller.`,
        {
          details: { tool: request.tool },
        },
      );
    }
    if (problems.kind === 'invalid') {
      return new BrokerError(
        'BROKER_INVALID_ARGUMENTS',
        `Invalid arguments for tool "${request.tool}": ${problems.fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
        { details: { tool: request.tool, fields: problems.fields } },
      );
    }
    return undefined;
  }

  #writeBackRefusal(caller: CallerConfig, targets: readonly WriteBackTarget[]): BrokerError | undefined {
    try {
      this.#o.writeBackPolicy.check(caller, targets);
      return undefined;
    } catch (err) {
      if (err instanceof BrokerError) return err;
      throw err;
    }
  }

  /**
   * Records a refused request as a failed call with the reason (`recorded`: the source's own code,
   * or the broker's) and delivers that failure to whichever of its write-back targets the caller
   * may use. The record is created failed in one write, so no crash leaves it queued. Idempotent
   * like a queued call: a redelivered refusal is recorded and written back once, and a request
   * the broker already accepted under this key stays the call it was (a duplicate), even if it
   * would be refused now (an allowlist changed since).
   */
  async #recordRefusal(
    caller: CallerConfig,
    request: ToolCallRequest,
    reason: BrokerError,
    recorded: RecordedFailure,
  ): Promise<Acceptance> {
    const writeBack = request.writeBack.filter((target) => !this.#writeBackRefusal(caller, [target]));
    const outcome = await this.#o.repository.create(
      caller.id,
      caller.upstream.endpoint,
      { ...request, tool: request.tool || '(none)', writeBack },
      (fresh, now) => refuse(fresh, now, { code: recorded.code, message: recorded.message }),
    );
    // The key is another call's: that call is not this refusal's to fail.
    if (outcome.kind === 'conflict') return { outcome: 'refused', reason };
    const { record } = outcome;
    if (outcome.kind === 'existing' && !isRefusalOf(record, recorded.code)) return { outcome: 'duplicate', record };
    // Also for a redelivered refusal: a crash after the record was written is repaired here, and
    // the job ids derived from the call make a second enqueue a no-op.
    await this.#o.queues.enqueueWriteBacksFor(record);
    return { outcome: 'refused', reason, record };
  }
}

/** Whether a record is the refusal `code` made of a request: failed before any attempt, with that code. */
function isRefusalOf(record: ToolCallRecord, code: RecordErrorCode): boolean {
  return record.status === 'failed' && record.attempts === 0 && record.error?.code === code;
}

/**
 * The intake as every service builds it: arguments checked against the endpoint's cached tool
 * list, write-back targets against the broker configuration.
 */
export function createToolCallIntake(options: {
  repository: ToolCallRepository;
  queues: BrokerQueues;
  redis: Redis;
  prefix: string;
  catalog: ToolCatalog;
  broker: BrokerConfig;
  env: Record<string, string | undefined>;
}): ToolCallIntake {
  return new ToolCallIntake({
    repository: options.repository,
    queues: options.queues,
    redis: options.redis,
    prefix: options.prefix,
    validator: new CatalogArgumentValidator(options.catalog),
    writeBackPolicy: new WriteBackPolicy({
      salesforceOrgs: options.broker.salesforce.orgs,
      databricksWorkspaces: options.broker.databricks.workspaces,
      serviceBusTargets: options.broker.serviceBus.targets,
      eventGridTopics: options.broker.eventGrid.topics,
      env: options.env,
    }),
  });
}

function usableKey(key: string | undefined): key is string {
  return !!key && key.length <= 255;
}

/** A source's own refusal as the broker error a synchronous source would answer: 400, naming the field. */
function sourceRefusal(refusal: { code: string; message: string }): BrokerError {
  return new BrokerError('BROKER_VALIDATION_FAILED', refusal.message, { details: { refusal: refusal.code } });
}

function keyReused(existing: ToolCallRecord): BrokerError {
  return new BrokerError(
    'BROKER_IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was already used with a different request body.',
    { details: { id: existing.id } },
  );
}

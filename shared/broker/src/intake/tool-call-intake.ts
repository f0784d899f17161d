import type { BrokerConfig, CallerConfig } from '@mcp-broker/broker-config';
import { BrokerError, type ToolCallRecord, type ToolCallRequest, type WriteBackTarget } from '@mcp-broker/contracts';
import type { ToolCatalog } from '@mcp-broker/mcp-client';
import type { Redis } from 'ioredis';
import type { BrokerQueues } from '../queues/broker-queues.ts';
import { toolCallId } from '../record/tool-call-id.ts';
import { refuse } from '../record/tool-call-lifecycle.ts';
import type { ToolCallRepository } from '../record/tool-call-repository.ts';
import type { ArgumentValidator } from './argument-validator.ts';
import { CatalogArgumentValidator } from './catalog-argument-validator.ts';
import { IdempotencyLocks } from './idempotency-lock.ts';
import { WriteBackPolicy } from './write-back-policy.ts';

/** A tool call as any source hands it in, before it is checked. */
export interface Submission {
  tool: string;
  arguments: Record<string, unknown>;
  writeBack: WriteBackTarget[];
  /** Required: the record and the job id derive from it, so a redelivery is one call. */
  idempotencyKey: string | undefined;
  source: ToolCallRequest['source'];
}

export type Correlation = ToolCallRequest['correlation'];

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
 * Step 1 and 2 of the one path every call takes: check a submission (allowlist, write-back
 * targets, arguments against the endpoint's tool list), record it and queue it. The async API and
 * the connectors (Salesforce platform events) all submit here, so they refuse the same things the
 * same way and share one idempotency rule.
 */
export class ToolCallIntake {
  readonly #o: ToolCallIntakeOptions;

  readonly #locks: IdempotencyLocks;

  constructor(options: ToolCallIntakeOptions) {
    this.#o = options;
    this.#locks = new IdempotencyLocks(options.redis);
  }

  /** Checks, records and enqueues; `created: false` when the idempotency key replays a call. */
  async submit(
    caller: CallerConfig,
    submission: Submission,
    correlation: Correlation,
  ): Promise<{ created: boolean; record: ToolCallRecord }> {
    const idempotencyKey = requireKey(submission.idempotencyKey);
    if (!caller.tools.includes('*') && !caller.tools.includes(submission.tool)) {
      throw new BrokerError(
        'BROKER_TOOL_NOT_ALLOWED',
        `Tool "${submission.tool}" is not on caller "${caller.id}"'s allowlist.`,
        { details: { tool: submission.tool } },
      );
    }
    this.#o.writeBackPolicy.check(caller, submission.writeBack);
    const problems = await this.#o.validator.validate(caller, submission.tool, submission.arguments);
    if (problems.kind === 'unknown_tool') {
      throw new BrokerError(
        'BROKER_TOOL_NOT_FOUND',
        `The MCP endpoint offers no tool "${submission.tool}" to this caller.`,
        { details: { tool: submission.tool } },
      );
    }
    if (problems.kind === 'invalid') {
      throw new BrokerError(
        'BROKER_INVALID_ARGUMENTS',
        `Invalid arguments for tool "${submission.tool}": ${problems.fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}.`,
        { details: { tool: submission.tool, fields: problems.fields } },
      );
    }

    // The IETF Idempotency-Key draft: a second request while the first is still being accepted is 409.
    const lock = await this.#locks.acquire(`${this.#o.prefix}idem:${toolCallId(caller.id, idempotencyKey)}`);
    if (!lock) {
      throw new BrokerError(
        'BROKER_IDEMPOTENCY_IN_PROGRESS',
        'A request with this Idempotency-Key is still being accepted; retry in a moment.',
      );
    }
    try {
      const outcome = await this.#o.repository.create(this.#request(caller, submission, idempotencyKey, correlation));
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
      await lock.release();
    }
  }

  /**
   * Records a submission that was refused before it could run (a malformed platform event) as a
   * failed call with the reason, and delivers that failure to whichever of its write-back targets
   * the caller may use. Idempotent like `submit`: a redelivered refusal is recorded and written
   * back once.
   */
  async reject(
    caller: CallerConfig,
    submission: Submission,
    error: { code: string; message: string },
    correlation: Correlation,
  ): Promise<ToolCallRecord> {
    const idempotencyKey = requireKey(submission.idempotencyKey);
    const writeBack = submission.writeBack.filter((target) => {
      try {
        this.#o.writeBackPolicy.check(caller, [target]);
        return true;
      } catch {
        return false;
      }
    });
    const outcome = await this.#o.repository.create(
      this.#request(
        caller,
        { ...submission, tool: submission.tool || '(none)', writeBack },
        idempotencyKey,
        correlation,
      ),
    );
    if (outcome.record.status !== 'queued') return outcome.record;
    const refused = await this.#o.repository.apply(
      caller.id,
      outcome.record.id,
      (current, now) => refuse(current, now, error),
      outcome.record,
    );
    const record = refused?.record ?? outcome.record;
    if (record.status === 'failed') await this.#o.queues.enqueueWriteBacksFor(record);
    return record;
  }

  #request(caller: CallerConfig, submission: Submission, idempotencyKey: string, correlation: Correlation) {
    return {
      caller: caller.id,
      endpoint: caller.upstream.endpoint,
      tool: submission.tool,
      arguments: submission.arguments,
      idempotencyKey,
      source: submission.source,
      writeBack: submission.writeBack,
      correlation,
    } satisfies ToolCallRequest;
  }
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
    writeBackPolicy: new WriteBackPolicy({ salesforceOrgs: options.broker.salesforce.orgs, env: options.env }),
  });
}

function requireKey(key: string | undefined): string {
  if (!key || key.length > 255) {
    throw new BrokerError(
      'BROKER_IDEMPOTENCY_KEY_MISSING',
      'Send an Idempotency-Key header of 1–255 characters (for example a UUID per logical call).',
    );
  }
  return key;
}

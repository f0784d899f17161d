import { fingerprint, type ToolCallRecord, type ToolCallRequest, type ToolCallStatus } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import { toolCallId } from './tool-call-id.ts';

export type CreateOutcome =
  | { kind: 'created'; record: ToolCallRecord }
  | { kind: 'existing'; record: ToolCallRecord }
  | { kind: 'conflict'; record: ToolCallRecord };

export interface ListOptions {
  status?: ToolCallStatus;
  tool?: string;
  /** Page size, 1–100. */
  limit: number;
  /** Opaque token from the previous page. */
  continuation?: string;
}

export interface RepositoryOptions {
  store: Store;
  /** Retention of records in days (Cosmos TTL). Default 30. */
  retentionDays?: number;
  now?: () => Date;
}

/** The part of the request that decides whether a reused idempotency key means the same call. */
function requestFingerprint(request: ToolCallRequest): string {
  return fingerprint({
    endpoint: request.endpoint,
    tool: request.tool,
    arguments: request.arguments,
    writeBack: request.writeBack,
  });
}

/**
 * Tool-call records in the `toolCalls` container (partition key: caller). Every update re-reads,
 * applies a pure mutation and replaces with the read ETag, retrying on a lost race, so concurrent
 * writers (worker, cancel, write-back) never overwrite each other.
 */
export class ToolCallRepository {
  readonly #o: RepositoryOptions;

  constructor(options: RepositoryOptions) {
    this.#o = options;
  }

  get #container() {
    return this.#o.store.container('toolCalls');
  }

  #now() {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }

  /** Creates the record for a request, or returns the one its idempotency key already made. */
  async create(request: ToolCallRequest): Promise<CreateOutcome> {
    const id = toolCallId(request.caller, request.idempotencyKey);
    const now = this.#now();
    const record: ToolCallRecord = {
      id,
      caller: request.caller,
      endpoint: request.endpoint,
      tool: request.tool,
      fingerprint: requestFingerprint(request),
      idempotencyKey: request.idempotencyKey,
      arguments: request.arguments,
      source: request.source,
      correlation: request.correlation,
      status: 'queued',
      history: [{ status: 'queued', at: now }],
      attempts: 0,
      deliveries: request.writeBack.map((target) => ({ target, status: 'pending', attempts: 0 })),
      createdAt: now,
      updatedAt: now,
      ttl: Math.round((this.#o.retentionDays ?? 30) * 86_400),
    };
    try {
      const { resource } = await this.#container.items.create(record);
      return { kind: 'created', record: strip(resource as ToolCallRecord) };
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      const existing = await this.get(request.caller, id);
      if (!existing) throw err;
      return existing.fingerprint === record.fingerprint
        ? { kind: 'existing', record: existing }
        : { kind: 'conflict', record: existing };
    }
  }

  async get(caller: string, id: string): Promise<ToolCallRecord | undefined> {
    const { resource } = await this.#container.item(id, caller).read<ToolCallRecord>();
    return resource ? strip(resource) : undefined;
  }

  /**
   * Applies `mutate` to the current record and stores it if the record did not change meanwhile.
   * `mutate` returns undefined to leave the record as it is.
   */
  async update(
    caller: string,
    id: string,
    mutate: (current: ToolCallRecord, now: string) => ToolCallRecord | undefined,
  ): Promise<ToolCallRecord | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const { resource, etag } = await this.#container.item(id, caller).read<ToolCallRecord>();
      if (!resource) return undefined;
      const now = this.#now();
      const next = mutate(strip(resource), now);
      if (!next) return strip(resource);
      try {
        const { resource: saved } = await this.#container
          .item(id, caller)
          .replace<ToolCallRecord>(
            { ...next, updatedAt: now },
            { accessCondition: { type: 'IfMatch', condition: etag ?? '' } },
          );
        return strip(saved as ToolCallRecord);
      } catch (err) {
        if ((err as { code?: number }).code !== 412) throw err;
      }
    }
    throw new Error(`Tool call ${id} is being updated concurrently; gave up after 20 attempts.`);
  }

  /** Moves a record to a status and appends it to the history. */
  transition(caller: string, id: string, status: ToolCallStatus, patch: Partial<ToolCallRecord> = {}, note?: string) {
    return this.update(caller, id, (current, now) => ({
      ...current,
      ...patch,
      status,
      history: [...current.history, { status, at: now, ...(note ? { note } : {}) }],
    }));
  }

  /** A caller's own calls, newest first. */
  async list(caller: string, options: ListOptions): Promise<{ items: ToolCallRecord[]; continuation?: string }> {
    const clauses = ['c.caller = @caller'];
    const parameters: { name: string; value: string }[] = [{ name: '@caller', value: caller }];
    if (options.status) {
      clauses.push('c.status = @status');
      parameters.push({ name: '@status', value: options.status });
    }
    if (options.tool) {
      clauses.push('c.tool = @tool');
      parameters.push({ name: '@tool', value: options.tool });
    }
    const iterator = this.#container.items.query<ToolCallRecord>(
      { query: `SELECT * FROM c WHERE ${clauses.join(' AND ')} ORDER BY c.createdAt DESC`, parameters },
      {
        partitionKey: caller,
        maxItemCount: options.limit,
        ...(options.continuation ? { continuationToken: options.continuation } : {}),
      },
    );
    const page = await iterator.fetchNext();
    return {
      items: page.resources.map(strip),
      ...(page.continuationToken ? { continuation: page.continuationToken } : {}),
    };
  }

  /** Calls that exhausted their retries, across callers (admin view). */
  async deadLetters(limit: number): Promise<ToolCallRecord[]> {
    const { resources } = await this.#container.items
      .query<ToolCallRecord>({
        query:
          'SELECT TOP @limit * FROM c WHERE c.status = @failed AND c.error.deadLettered = true ORDER BY c.updatedAt DESC',
        parameters: [
          { name: '@limit', value: limit },
          { name: '@failed', value: 'failed' },
        ],
      })
      .fetchAll();
    return resources.map(strip);
  }

  /** Finds a record by id when the caller is not known (admin replay). */
  async findById(id: string): Promise<ToolCallRecord | undefined> {
    const { resources } = await this.#container.items
      .query<ToolCallRecord>({ query: 'SELECT * FROM c WHERE c.id = @id', parameters: [{ name: '@id', value: id }] })
      .fetchAll();
    return resources[0] ? strip(resources[0]) : undefined;
  }
}

// Cosmos system properties (_etag, _rid, _ts…) are storage details, not part of the record.
function strip(resource: ToolCallRecord): ToolCallRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (!k.startsWith('_')) out[k] = v;
  return out as ToolCallRecord;
}

import { fingerprint, type ToolCallRecord, type ToolCallRequest, type ToolCallStatus } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import { toolCallId } from './tool-call-id.ts';
import type { Transition } from './tool-call-lifecycle.ts';

export type CreateOutcome =
  | { kind: 'created'; record: ToolCallRecord }
  | { kind: 'existing'; record: ToolCallRecord }
  | { kind: 'conflict'; record: ToolCallRecord };

/** What `createMany` made of one request: what `create` returns, or what it would have thrown. */
export type ManyOutcome = CreateOutcome | { kind: 'failed'; error: unknown };

type BatchOperations = Parameters<ReturnType<Store['container']>['items']['batch']>[0];

/** Operations Cosmos takes in one transactional batch. */
export const MAX_BATCH_OPERATIONS = 100;

/**
 * Bytes of records (as JSON) one batch carries: under Cosmos's 2 MB request limit with room for
 * the envelope, so a batch of large arguments is split rather than refused.
 */
export const MAX_BATCH_BYTES = 1_500_000;

/** What `apply` did: the record as stored, and whether the transition changed it. */
export interface Applied {
  record: ToolCallRecord;
  changed: boolean;
}

export interface ListOptions {
  status?: ToolCallStatus;
  tool?: string;
  /** Page size, 1–100. */
  limit: number;
  /** Opaque token from the previous page. */
  continuation?: string;
}

/** What the reconcile sweep needs of a record with work left. */
export type RecordWithWorkLeft = Pick<ToolCallRecord, 'id' | 'caller' | 'status' | 'replays' | 'deliveries'>;

export interface RepositoryOptions {
  store: Store;
  /** Retention of records in days (Cosmos TTL). Default 30. */
  retentionDays?: number;
  now?: () => Date;
}

/** The part of the request that decides whether a reused idempotency key means the same call. */
function requestFingerprint(endpoint: string, request: ToolCallRequest): string {
  return fingerprint({
    endpoint,
    tool: request.tool,
    arguments: request.arguments,
    writeBack: request.writeBack,
  });
}

/**
 * Tool-call records in the `toolCalls` container (partition key: caller). Every change applies a
 * pure transition and replaces with the ETag it was computed from, re-reading and retrying on a lost
 * race, so concurrent writers (worker, cancel, write-back) never overwrite each other.
 *
 * Records this repository returns remember the ETag they were read or written with: hand one back
 * as `basis` and `apply` skips its read, falling back to one only if the record changed since.
 * That saves the worker a round trip per transition, which is most of its store traffic.
 */
export class ToolCallRepository {
  readonly #o: RepositoryOptions;
  readonly #etags = new WeakMap<ToolCallRecord, string>();

  constructor(options: RepositoryOptions) {
    this.#o = options;
  }

  get #container() {
    return this.#o.store.container('toolCalls');
  }

  #now() {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }

  /**
   * Creates the record of `caller`'s request to its MCP `endpoint` (both from the caller's
   * configuration), or returns the one the request's idempotency key already made.
   */
  /**
   * `initial`, a lifecycle transition, is applied to the new record before it is written, so a call
   * that starts life refused is stored failed in one write, with no window in which a crash leaves
   * it queued.
   */
  async create(
    caller: string,
    endpoint: string,
    request: ToolCallRequest,
    initial?: Transition,
  ): Promise<CreateOutcome> {
    return this.#create(this.#fresh(caller, endpoint, request, initial));
  }

  /**
   * `create` for many requests of one caller (a group of platform events): one outcome per
   * request, in order, each as `create` would give it, or `failed` with what `create` would have
   * thrown. The records go in Cosmos transactional batches (one request for up to
   * `MAX_BATCH_OPERATIONS` records under `MAX_BATCH_BYTES`, all in the caller's partition), which
   * is most of the saving: the client's per-request cost is paid once per batch, not per record.
   * Every record not answered 201 — a 409 (the key's record exists), the 424s an atomic batch
   * gives the rest once one fails, anything else — and every record of a batch that failed as a
   * whole goes through `create` on its own, so duplicates, key reuse and errors are decided
   * exactly as there. A batch lost in flight may have written its records: `create` then finds
   * each one and answers `existing`, the same call.
   */
  async createMany(caller: string, endpoint: string, requests: readonly ToolCallRequest[]): Promise<ManyOutcome[]> {
    const records = requests.map((request) => this.#fresh(caller, endpoint, request));
    const outcomes: (ManyOutcome | undefined)[] = new Array(records.length);
    const batches = batchesOf(records);
    await Promise.all(
      batches.map(async (batch) => {
        if (batch.length === 1) return; // Alone (large, or the last one): the single path costs the same.
        let results: { statusCode: number; eTag?: string; resourceBody?: unknown }[] = [];
        try {
          const response = await this.#container.items.batch(
            // The SDK types bodies as JSON values; a record is one (it is stored as JSON).
            batch.map((i) => ({ operationType: 'Create', resourceBody: records[i] })) as unknown as BatchOperations,
            caller,
          );
          results = response.result ?? [];
        } catch {
          // Decided below, one record at a time.
        }
        for (const [n, i] of batch.entries()) {
          const result = results[n];
          if (result?.statusCode !== 201 || !result.resourceBody) continue;
          const body = result.resourceBody as ToolCallRecord & { _etag?: string };
          outcomes[i] = {
            kind: 'created',
            record: this.#versioned(body._etag || !result.eTag ? body : { ...body, _etag: result.eTag }),
          };
        }
      }),
    );
    await Promise.all(
      records.map(async (record, i) => {
        if (outcomes[i]) return;
        try {
          outcomes[i] = await this.#create(record);
        } catch (error) {
          outcomes[i] = { kind: 'failed', error };
        }
      }),
    );
    return outcomes as ManyOutcome[];
  }

  #fresh(caller: string, endpoint: string, request: ToolCallRequest, initial?: Transition): ToolCallRecord {
    const id = toolCallId(caller, request.idempotencyKey);
    const now = this.#now();
    const fresh: ToolCallRecord = {
      id,
      caller,
      endpoint,
      tool: request.tool,
      fingerprint: requestFingerprint(endpoint, request),
      idempotencyKey: request.idempotencyKey,
      arguments: request.arguments,
      source: request.source,
      correlation: request.correlation,
      status: 'queued',
      history: [{ status: 'queued', at: now }],
      attempts: 0,
      deliveries: request.writeBack.map((target) => ({ target, status: 'pending', attempts: 0 })),
      deliveriesLeft: request.writeBack.length,
      createdAt: now,
      updatedAt: now,
      ttl: Math.round((this.#o.retentionDays ?? 30) * 86_400),
    };
    const started = initial?.(fresh, now) ?? fresh;
    return { ...started, deliveriesLeft: deliveriesLeft(started) };
  }

  async #create(record: ToolCallRecord): Promise<CreateOutcome> {
    try {
      const { resource } = await this.#container.items.create(record);
      return { kind: 'created', record: this.#versioned(resource as ToolCallRecord) };
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      const existing = await this.get(record.caller, record.id);
      if (!existing) throw err;
      return existing.fingerprint === record.fingerprint
        ? { kind: 'existing', record: existing }
        : { kind: 'conflict', record: existing };
    }
  }

  /**
   * The record the request's idempotency key already made, without creating one: `existing` when
   * it is the same request, `conflict` when the key was used for another; undefined when there is none.
   */
  async find(
    caller: string,
    endpoint: string,
    request: ToolCallRequest,
  ): Promise<Exclude<CreateOutcome, { kind: 'created' }> | undefined> {
    const existing = await this.get(caller, toolCallId(caller, request.idempotencyKey));
    if (!existing) return undefined;
    return existing.fingerprint === requestFingerprint(endpoint, request)
      ? { kind: 'existing', record: existing }
      : { kind: 'conflict', record: existing };
  }

  async get(caller: string, id: string): Promise<ToolCallRecord | undefined> {
    const { resource } = await this.#container.item(id, caller).read<ToolCallRecord>();
    return resource ? this.#versioned(resource) : undefined;
  }

  /** The ETag a record this repository returned was read or written with (a job carries it on). */
  etagOf(record: ToolCallRecord): string | undefined {
    return this.#etags.get(record);
  }

  /**
   * A record with the ETag another process stored it with (a new call's job carries both), as a
   * basis for `apply`: its first write needs no read, and fails like any stale basis if the record
   * changed since.
   */
  adopt(record: ToolCallRecord, etag: string): ToolCallRecord {
    const adopted = { ...record };
    this.#etags.set(adopted, etag);
    return adopted;
  }

  #versioned(resource: ToolCallRecord & { _etag?: string }): ToolCallRecord {
    const record = strip(resource);
    if (resource._etag) this.#etags.set(record, resource._etag);
    return record;
  }

  /**
   * Applies a transition (see `tool-call-lifecycle.ts`) to the current record and stores the result
   * if the record did not change meanwhile; on a lost race it re-reads and applies it again.
   * `basis`, a record this repository returned, is tried first without reading; a stale one costs
   * one failed write and a read. Undefined when there is no such record; `changed: false` (with
   * the current record) when the transition left it as it was.
   */
  async apply(
    caller: string,
    id: string,
    transition: Transition,
    basis?: ToolCallRecord,
  ): Promise<Applied | undefined> {
    let known = basis && basis.id === id && basis.caller === caller ? basis : undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      let current: ToolCallRecord;
      let etag: string | undefined;
      if (known && this.#etags.has(known)) {
        current = known;
        etag = this.#etags.get(known);
        known = undefined;
      } else {
        const read = await this.#container.item(id, caller).read<ToolCallRecord>();
        if (!read.resource) return undefined;
        current = this.#versioned(read.resource);
        etag = read.etag;
      }
      const now = this.#now();
      const next = transition(current, now);
      if (!next) return { record: current, changed: false };
      try {
        const { resource: saved } = await this.#container
          .item(id, caller)
          .replace<ToolCallRecord>(
            { ...next, deliveriesLeft: deliveriesLeft(next), updatedAt: now },
            { accessCondition: { type: 'IfMatch', condition: etag ?? '' } },
          );
        return { record: this.#versioned(saved as ToolCallRecord), changed: true };
      } catch (err) {
        const code = (err as { code?: number }).code;
        // Gone since it was read, or since the basis was written (a store that lost it): no record.
        if (code === 404) return undefined;
        if (code !== 412) throw err;
      }
    }
    throw new Error(`Tool call ${id} is being updated concurrently; gave up after 20 attempts.`);
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
      items: page.resources.map((r) => this.#versioned(r)),
      ...(page.continuationToken ? { continuation: page.continuationToken } : {}),
    };
  }

  /**
   * Records with work left – a call not final, or a delivery not done – that nobody has written
   * since `before`, across callers, a page at a time. Both conditions are top-level fields, so the
   * query is served by the index rather than a scan of every record's deliveries.
   */
  async *withWorkLeft(before: string, pageSize = 200): AsyncGenerator<RecordWithWorkLeft[]> {
    const iterator = this.#container.items.query<RecordWithWorkLeft>(
      {
        query:
          'SELECT c.id, c.caller, c.status, c.replays, c.deliveries FROM c ' +
          "WHERE (c.status IN ('queued', 'running') OR c.deliveriesLeft > 0) AND c.updatedAt < @before",
        parameters: [{ name: '@before', value: before }],
      },
      { maxItemCount: pageSize },
    );
    while (iterator.hasMoreResults()) {
      const page = await iterator.fetchNext();
      if (page.resources.length > 0) yield page.resources;
    }
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

  /**
   * One page of dead letters, newest first, across callers or of one caller; `updatedBefore` (ISO)
   * keeps only those dead-lettered before it (a bulk replay's fixed horizon).
   */
  async deadLetterPage(options: {
    limit: number;
    caller?: string;
    updatedBefore?: string;
    continuation?: string;
  }): Promise<{ items: ToolCallRecord[]; continuation?: string }> {
    const clauses = ['c.status = @failed', 'c.error.deadLettered = true'];
    const parameters: { name: string; value: string }[] = [{ name: '@failed', value: 'failed' }];
    if (options.caller) {
      clauses.push('c.caller = @caller');
      parameters.push({ name: '@caller', value: options.caller });
    }
    if (options.updatedBefore) {
      clauses.push('c.updatedAt < @before');
      parameters.push({ name: '@before', value: options.updatedBefore });
    }
    const page = await this.#container.items
      .query<ToolCallRecord>(
        { query: `SELECT * FROM c WHERE ${clauses.join(' AND ')} ORDER BY c.updatedAt DESC`, parameters },
        {
          maxItemCount: options.limit,
          ...(options.caller ? { partitionKey: options.caller } : {}),
          ...(options.continuation ? { continuationToken: options.continuation } : {}),
        },
      )
      .fetchNext();
    return {
      items: page.resources.map(strip),
      ...(page.continuationToken ? { continuation: page.continuationToken } : {}),
    };
  }

  /** Finds a record by id when the caller is not known (admin replay). */
  async findById(id: string): Promise<ToolCallRecord | undefined> {
    const { resources } = await this.#container.items
      .query<ToolCallRecord>({ query: 'SELECT * FROM c WHERE c.id = @id', parameters: [{ name: '@id', value: id }] })
      .fetchAll();
    return resources[0] ? strip(resources[0]) : undefined;
  }
}

/**
 * Indexes of `records` in batches of at most `MAX_BATCH_OPERATIONS` and `MAX_BATCH_BYTES` (a record
 * above the byte limit alone in its batch), in order.
 */
export function batchesOf(records: readonly ToolCallRecord[]): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const [i, record] of records.entries()) {
    const size = Buffer.byteLength(JSON.stringify(record));
    if (current.length > 0 && (current.length >= MAX_BATCH_OPERATIONS || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Deliveries not yet final; kept on the record so a query can find them without reading arrays. */
function deliveriesLeft(record: ToolCallRecord): number {
  return record.deliveries.filter((d) => d.status === 'pending' || d.status === 'attempting').length;
}

// Cosmos system properties (_etag, _rid, _ts…) are storage details, not part of the record.
function strip(resource: ToolCallRecord): ToolCallRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (!k.startsWith('_')) out[k] = v;
  return out as ToolCallRecord;
}

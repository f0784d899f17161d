import { randomUUID } from 'node:crypto';
import { type AuditRecord, fingerprint, type Identity } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import type { McpServerMetrics } from '@mcp-broker/telemetry';
import type { Logger } from 'pino';

export interface AuditLogOptions {
  store: Store;
  logger: Logger;
  /** Retention in days, written as the record's Cosmos TTL; default 90. */
  retentionDays?: number;
  /** Per-agent, per-tool calls and latency, counted from the same entries as the audit. */
  metrics?: McpServerMetrics;
  /** Most records in one write (one Cosmos transactional batch, one partition); default 50, at most 100. */
  batchSize?: number;
  /** Longest a record waits in the buffer before its write starts, in ms; default 50. */
  flushIntervalMs?: number;
  /** Most records buffered over all partitions; reaching it starts every buffer's write; default 500. */
  maxBufferedRecords?: number;
}

export type AuditEntry = Omit<AuditRecord, 'id' | 'subject' | 'clientAppId' | 'issuer' | 'at' | 'ttl'> & {
  identity: Identity;
};

/** Cosmos refuses a transactional batch of more than 100 operations. */
const COSMOS_MAX_BATCH = 100;

type BatchOperations = Parameters<ReturnType<Store['container']>['items']['batch']>[0];

/**
 * Writes one record per `tools/call`, never on the caller's path: records are buffered per
 * partition (the caller's subject) and written as one Cosmos transactional batch when a partition
 * holds `batchSize` records, when the buffers hold `maxBufferedRecords`, or `flushIntervalMs` after
 * the oldest was buffered, whichever comes first. One request per batch instead of one per record
 * is what makes the audit cheap (each `@azure/cosmos` request costs ~0.3 ms of client CPU).
 *
 * Durability: a process that dies without shutting down loses what is buffered (at most
 * `maxBufferedRecords` records, none older than `flushIntervalMs`) and the writes in flight to
 * Cosmos, as an unbuffered writer loses its writes in flight. `flush()` writes every buffer and
 * waits for every write (shutdown calls it; so do tests). A batch Cosmos refuses is written again
 * one record at a time; a record that still fails is logged with its request id, never dropped
 * silently.
 */
export class AuditLog {
  readonly #options: AuditLogOptions;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #maxBuffered: number;
  readonly #buffers = new Map<string, AuditRecord[]>();
  #buffered = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AuditLogOptions) {
    this.#options = options;
    this.#batchSize = Math.min(Math.max(1, Math.floor(options.batchSize ?? 50)), COSMOS_MAX_BATCH);
    this.#flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 50);
    this.#maxBuffered = Math.max(1, Math.floor(options.maxBufferedRecords ?? 500));
  }

  /** Records not yet handed to Cosmos (what a crash now would lose besides the writes in flight). */
  get buffered(): number {
    return this.#buffered;
  }

  record(entry: AuditEntry): void {
    const { identity, ...rest } = entry;
    this.#options.metrics?.toolCall({
      agent: identity.clientAppId ?? identity.subject,
      tool: entry.tool,
      status: entry.outcome,
      durationMs: entry.durationMs,
    });
    const record: AuditRecord = {
      id: randomUUID(),
      subject: identity.subject,
      ...(identity.clientAppId ? { clientAppId: identity.clientAppId } : {}),
      issuer: identity.issuer,
      ...rest,
      at: new Date().toISOString(),
      ttl: Math.round((this.#options.retentionDays ?? 90) * 86_400),
    };
    let buffer = this.#buffers.get(record.subject);
    if (buffer === undefined) {
      buffer = [];
      this.#buffers.set(record.subject, buffer);
    }
    buffer.push(record);
    this.#buffered += 1;
    if (buffer.length >= this.#batchSize) this.#writePartition(record.subject);
    else if (this.#buffered >= this.#maxBuffered) this.#writeAll();
    else this.#timer ??= setTimeout(() => this.#writeAll(), this.#flushIntervalMs);
  }

  /** Writes every buffered record and waits for every write started so far. */
  async flush(): Promise<void> {
    this.#writeAll();
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #writeAll(): void {
    for (const subject of [...this.#buffers.keys()]) this.#writePartition(subject);
  }

  #writePartition(subject: string): void {
    const records = this.#buffers.get(subject);
    if (records === undefined) return;
    this.#buffers.delete(subject);
    this.#buffered -= records.length;
    if (this.#buffers.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const write = this.#write(subject, records);
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  async #write(subject: string, records: AuditRecord[]): Promise<void> {
    const items = this.#options.store.container('audit').items;
    if (records.length > 1) {
      try {
        const operations = records.map((record) => ({ operationType: 'Create' as const, resourceBody: record }));
        const response = await items.batch(operations as unknown as BatchOperations, subject);
        if (response.result?.every((r) => r.statusCode < 400)) return;
        this.#options.logger.warn(
          { statusCodes: response.result?.map((r) => r.statusCode), records: records.length },
          'audit batch refused; writing its records one at a time',
        );
      } catch (err) {
        this.#options.logger.warn(
          { err, records: records.length },
          'audit batch failed; writing its records one at a time',
        );
      }
    }
    await Promise.all(records.map((record) => this.#writeOne(items, record)));
  }

  async #writeOne(items: ReturnType<Store['container']>['items'], record: AuditRecord): Promise<void> {
    try {
      await items.create(record);
    } catch (err) {
      // The batch may have been committed although its answer was lost: the record is there.
      if ((err as { code?: unknown }).code === 409) return;
      this.#options.logger.error({ err, requestId: record.requestId, tool: record.tool }, 'audit write failed');
    }
  }
}

/** sha256 of the arguments in canonical JSON (sorted keys), so equal arguments hash equally. */
export const hashArguments = fingerprint;

import {
  type BatchRunRecord,
  type BatchRunStatus,
  batchRunRecordSchema,
  emptyBatchRunCounts,
  finalBatchRunStatuses,
} from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';

export interface BatchRunRepositoryOptions {
  store: Store;
  /** Retention of run records in days (Cosmos TTL). Default 30, as for tool calls. */
  retentionDays?: number;
  now?: () => Date;
}

export type NewBatchRun = Pick<BatchRunRecord, 'id' | 'schedule' | 'caller' | 'startedBy' | 'startKey'> & {
  status?: BatchRunStatus;
  error?: BatchRunRecord['error'];
  requestId?: string;
};

const ACTIVE: readonly BatchRunStatus[] = ['queued', 'running'];

/**
 * Batch runs in the `batchRuns` container (partition key: caller, so a caller reads only its own).
 * Updates apply a pure mutation and replace with the ETag they were computed from, re-reading on a
 * lost race, so the run job's checkpoints and an API cancel never overwrite each other.
 */
export class BatchRunRepository {
  readonly #o: BatchRunRepositoryOptions;

  constructor(options: BatchRunRepositoryOptions) {
    this.#o = options;
  }

  get #container() {
    return this.#o.store.container('batchRuns');
  }

  #now() {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }

  /** Creates a run, or returns the one its id already names (`created: false`). */
  async create(run: NewBatchRun): Promise<{ created: boolean; run: BatchRunRecord }> {
    const now = this.#now();
    const status = run.status ?? 'queued';
    const record: BatchRunRecord = batchRunRecordSchema.parse({
      id: run.id,
      schedule: run.schedule,
      caller: run.caller,
      startedBy: run.startedBy,
      startKey: run.startKey,
      status,
      phase: finalBatchRunStatuses.includes(status) ? 'done' : 'selecting',
      counts: emptyBatchRunCounts,
      pageOffset: 0,
      invalidRecords: 0,
      errorsByCode: run.error ? { [run.error.code]: 1 } : {},
      writeBackFailures: [],
      ...(run.error ? { error: run.error } : {}),
      ...(run.requestId ? { requestId: run.requestId } : {}),
      createdAt: now,
      updatedAt: now,
      ...(finalBatchRunStatuses.includes(status) ? { completedAt: now } : {}),
      ttl: Math.round((this.#o.retentionDays ?? 30) * 86_400),
    });
    try {
      const { resource } = await this.#container.items.create(record);
      return { created: true, run: strip(resource as BatchRunRecord) };
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      const existing = await this.get(run.caller, run.id);
      if (!existing) throw err;
      return { created: false, run: existing };
    }
  }

  async get(caller: string, id: string): Promise<BatchRunRecord | undefined> {
    const { resource } = await this.#container.item(id, caller).read<BatchRunRecord>();
    return resource ? strip(resource) : undefined;
  }

  /** Applies `mutate` (undefined: leave it) to the current run and stores it unless it changed meanwhile. */
  async update(
    caller: string,
    id: string,
    mutate: (current: BatchRunRecord, now: string) => BatchRunRecord | undefined,
  ): Promise<BatchRunRecord | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const read = await this.#container.item(id, caller).read<BatchRunRecord>();
      if (!read.resource) return undefined;
      const current = strip(read.resource);
      const now = this.#now();
      const next = mutate(current, now);
      if (!next) return current;
      try {
        const { resource } = await this.#container
          .item(id, caller)
          .replace<BatchRunRecord>(
            { ...next, updatedAt: now },
            { accessCondition: { type: 'IfMatch', condition: read.etag ?? '' } },
          );
        return strip(resource as BatchRunRecord);
      } catch (err) {
        if ((err as { code?: number }).code !== 412) throw err;
      }
    }
    throw new Error(`Batch run ${id} is being updated concurrently; gave up after 20 attempts.`);
  }

  /** The schedule's runs still queued or running, oldest first. */
  async active(caller: string, schedule: string): Promise<BatchRunRecord[]> {
    const { resources } = await this.#container.items
      .query<BatchRunRecord>(
        {
          query:
            'SELECT * FROM c WHERE c.caller = @caller AND c.schedule = @schedule AND (c.status = @queued OR c.status = @running) ORDER BY c.createdAt ASC',
          parameters: [
            { name: '@caller', value: caller },
            { name: '@schedule', value: schedule },
            { name: '@queued', value: ACTIVE[0] as string },
            { name: '@running', value: ACTIVE[1] as string },
          ],
        },
        { partitionKey: caller },
      )
      .fetchAll();
    return resources.map(strip);
  }

  /** The schedule's latest run, if any. */
  async latest(caller: string, schedule: string): Promise<BatchRunRecord | undefined> {
    const { resources } = await this.#container.items
      .query<BatchRunRecord>(
        {
          query: 'SELECT TOP 1 * FROM c WHERE c.caller = @caller AND c.schedule = @schedule ORDER BY c.createdAt DESC',
          parameters: [
            { name: '@caller', value: caller },
            { name: '@schedule', value: schedule },
          ],
        },
        { partitionKey: caller },
      )
      .fetchAll();
    return resources[0] ? strip(resources[0]) : undefined;
  }
}

// Cosmos system properties (_etag, _rid, _ts…) are storage details, not part of the record.
function strip(resource: BatchRunRecord): BatchRunRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (!k.startsWith('_')) out[k] = v;
  return out as BatchRunRecord;
}

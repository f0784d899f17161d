import type { ToolCallRecord, ToolCallStatus } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';

/** What the run needs of one of its calls to count it. */
export type RunCallStatus = Pick<ToolCallRecord, 'id' | 'status' | 'error'>;

export interface RunCallTally {
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Calls not final yet (queued or running), by id. */
  unfinished: string[];
  /** Failed and cancelled calls by error code. */
  errorsByCode: Record<string, number>;
}

/**
 * The run's calls, read from the tool-call records: every call a run makes carries
 * `source: { kind: 'batch', reference: <run id> }`. The records are the source of truth for the
 * counts, so a crash of the run job loses no count and counts nothing twice.
 */
export class RunCalls {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  get #container() {
    return this.#store.container('toolCalls');
  }

  /** One call's status and error (a point read). */
  async status(caller: string, callId: string): Promise<RunCallStatus | undefined> {
    const { resource } = await this.#container.item(callId, caller).read<ToolCallRecord>();
    return resource ? { id: resource.id, status: resource.status, error: resource.error } : undefined;
  }

  /** Counts the run's calls by status, a page at a time (memory: one page and the unfinished ids). */
  async tally(caller: string, runId: string, pageSize = 1000): Promise<RunCallTally> {
    const tally: RunCallTally = { succeeded: 0, failed: 0, cancelled: 0, unfinished: [], errorsByCode: {} };
    const iterator = this.#container.items.query<RunCallStatus>(
      {
        query:
          "SELECT c.id, c.status, c.error FROM c WHERE c.caller = @caller AND c.source.kind = 'batch' AND c.source.reference = @run",
        parameters: [
          { name: '@caller', value: caller },
          { name: '@run', value: runId },
        ],
      },
      { partitionKey: caller, maxItemCount: pageSize },
    );
    while (iterator.hasMoreResults()) {
      const page = await iterator.fetchNext();
      for (const call of page.resources) {
        const status: ToolCallStatus = call.status;
        if (status === 'succeeded') tally.succeeded += 1;
        else if (status === 'failed') tally.failed += 1;
        else if (status === 'cancelled') tally.cancelled += 1;
        else tally.unfinished.push(call.id);
        if ((status === 'failed' || status === 'cancelled') && call.error?.code) {
          tally.errorsByCode[call.error.code] = (tally.errorsByCode[call.error.code] ?? 0) + 1;
        }
      }
    }
    return tally;
  }

  /**
   * The run's final calls in id order after `after`, at most `limit` (a write-back chunk): id order
   * with the last id as checkpoint lets a resumed write-back continue where it stopped.
   */
  async finalPage(
    caller: string,
    runId: string,
    options: { after: string | undefined; limit: number; includeFailed: boolean },
  ): Promise<ToolCallRecord[]> {
    const statuses = options.includeFailed ? "('succeeded', 'failed')" : "('succeeded')";
    const { resources } = await this.#container.items
      .query<ToolCallRecord>(
        {
          query: `SELECT TOP @limit * FROM c WHERE c.caller = @caller AND c.source.kind = 'batch' AND c.source.reference = @run AND c.status IN ${statuses}${options.after ? ' AND c.id > @after' : ''} ORDER BY c.id ASC`,
          parameters: [
            { name: '@limit', value: options.limit },
            { name: '@caller', value: caller },
            { name: '@run', value: runId },
            ...(options.after ? [{ name: '@after', value: options.after }] : []),
          ],
        },
        { partitionKey: caller },
      )
      .fetchAll();
    return resources;
  }
}

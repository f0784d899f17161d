import jsonata from 'jsonata';
import type { SourceRecord } from './batch-source.ts';

/** Guards for every expression (JSONata's protection against endless loops and deep recursion). */
const GUARD = { timeout: 1_000, stack: 500 };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a record could not become a call; it is skipped and counted under `BATCH_RECORD_INVALID`. */
export class RecordMappingError extends Error {
  override readonly name = 'RecordMappingError';
}

/**
 * A schedule's per-record expressions, compiled once per run: the record's id (part of the call's
 * idempotency key) and the tool's arguments. Both see the source record; `$schedule` and `$run`
 * are bound.
 */
export class RecordMapping {
  readonly #recordId: jsonata.Expression;
  readonly #arguments: jsonata.Expression;
  readonly #bindings: Record<string, unknown>;

  constructor(expressions: { recordId: string; arguments: string }, bindings: { schedule: string; run: string }) {
    this.#recordId = jsonata(expressions.recordId, GUARD);
    this.#arguments = jsonata(expressions.arguments, GUARD);
    this.#bindings = bindings;
  }

  async map(record: SourceRecord): Promise<{ recordId: string; arguments: Record<string, unknown> }> {
    let id: unknown;
    try {
      id = await this.#recordId.evaluate(record, this.#bindings);
    } catch (error) {
      throw new RecordMappingError(`recordId expression failed: ${(error as Error).message}`);
    }
    if ((typeof id !== 'string' || id.length === 0) && typeof id !== 'number') {
      throw new RecordMappingError('recordId expression gave no string or number for this record');
    }
    const recordId = String(id);
    if (recordId.length > 128 || [...recordId].some((ch) => ch.charCodeAt(0) < 0x20)) {
      throw new RecordMappingError('record id is longer than 128 characters or has control characters');
    }
    let args: unknown;
    try {
      args = await this.#arguments.evaluate(record, this.#bindings);
    } catch (error) {
      throw new RecordMappingError(`arguments expression failed on record ${recordId}: ${(error as Error).message}`);
    }
    if (!isPlainObject(args)) {
      throw new RecordMappingError(`arguments expression gave no object for record ${recordId}`);
    }
    // JSONata results can carry its own sequence markers; a JSON round trip leaves plain data.
    return { recordId, arguments: JSON.parse(JSON.stringify(args)) as Record<string, unknown> };
  }
}

import type { BatchWriteBackConfig } from '@mcp-broker/broker-config';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import {
  classifySalesforceError,
  evaluateFieldMapping,
  MAPPING_FAILED,
  type OrgConnection,
  outcomeContext,
} from '@mcp-broker/salesforce';
import jsonata from 'jsonata';

export interface ChunkItem {
  /** The source record's id (from the call's idempotency key). */
  recordId: string;
  call: ToolCallRecord;
}

export interface ChunkOutcome {
  written: number;
  failures: { recordId: string; code: string; message: string }[];
  /** Records whose mapping gave no value for any field: nothing to write. */
  unchanged: number;
}

/** A chunk with its mapping evaluated: what to send, and what already failed or has nothing to write. */
export interface PreparedChunk {
  outcome: ChunkOutcome;
  /** `{ attributes: { type }, id, ...fields }` per record to write (`[externalIdField]` instead of `id` for an upsert). */
  records: Record<string, unknown>[];
  /** The source record id of each of `records`, in the same order. */
  sent: string[];
}

/** One SObject Collections result item. */
interface SaveResult {
  id?: string | null;
  success: boolean;
  errors?: { statusCode?: string; message?: string; fields?: string[] }[];
}

const SALESFORCE_ID = /^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/;

/**
 * Writes a chunk of a run's outcomes to Salesforce records with one SObject Collections update
 * (`PATCH composite/sobjects`, up to 200 records, `allOrNone: false`), or with `externalIdField`
 * one upsert by that field (`PATCH composite/sobjects/<sobject>/<field>`: a record is created where
 * none matches, so the value must identify the record for good): a record Salesforce refuses
 * is reported with its error and the chunk's other records are still saved. A whole-chunk failure
 * throws the classified `DeliveryError` (transient ones are retried by the run job from its
 * checkpoint, without calling any tool again). Updating a record with the same values twice
 * changes nothing, so a chunk sent again after a crash is harmless.
 */
export class CollectionWriteBack {
  readonly #config: BatchWriteBackConfig;
  readonly #recordId: jsonata.Expression;

  constructor(config: BatchWriteBackConfig) {
    this.#config = config;
    this.#recordId = jsonata(config.recordId, { timeout: 1_000, stack: 500 } as never);
  }

  /** The external id field records are upserted by; undefined: updated by Id. */
  get externalIdField(): string | undefined {
    return this.#config.externalIdField;
  }

  /**
   * Evaluates the mapping of each item: the records to send (`attributes`, `id`, the fields), the
   * source record id of each, and the items that failed to map or have nothing to write.
   */
  async prepare(items: readonly ChunkItem[]): Promise<PreparedChunk> {
    const outcome: ChunkOutcome = { written: 0, failures: [], unchanged: 0 };
    const records: Record<string, unknown>[] = [];
    const sent: string[] = [];
    for (const item of items) {
      try {
        const context = outcomeContext(item.call);
        const target: unknown = await this.#recordId.evaluate(context, { recordId: item.recordId });
        const key = this.#config.externalIdField;
        if (key === undefined && (typeof target !== 'string' || !SALESFORCE_ID.test(target))) {
          throw new Error(`recordId gave ${JSON.stringify(target) ?? 'nothing'}, not a Salesforce id`);
        }
        // An external id is text (or a number, written as its digits); an empty one matches nothing.
        if (key !== undefined && !((typeof target === 'string' && target !== '') || Number.isFinite(target))) {
          throw new Error(`recordId gave ${JSON.stringify(target) ?? 'nothing'}, not a value for ${key}`);
        }
        const values = await evaluateFieldMapping(this.#config.fields, context);
        if (Object.keys(values).length === 0) {
          outcome.unchanged += 1;
          continue;
        }
        records.push({
          attributes: { type: this.#config.sobject },
          ...(key === undefined ? { id: target } : { [key]: String(target) }),
          ...values,
        });
        sent.push(item.recordId);
      } catch (error) {
        outcome.failures.push({
          recordId: item.recordId,
          code: MAPPING_FAILED,
          message: (error as Error).message.slice(0, 1000),
        });
      }
    }
    return { outcome, records, sent };
  }

  async write(org: OrgConnection, items: readonly ChunkItem[]): Promise<ChunkOutcome> {
    const { outcome, records, sent } = await this.prepare(items);
    if (records.length === 0) return outcome;
    let results: SaveResult[];
    try {
      results = await org.withSession(async (conn) => {
        const answer = await conn.request<SaveResult[]>({
          method: 'PATCH',
          url: `/services/data/v${conn.version}/composite/sobjects${
            this.#config.externalIdField === undefined ? '' : `/${this.#config.sobject}/${this.#config.externalIdField}`
          }`,
          body: JSON.stringify({ allOrNone: false, records }),
          headers: { 'content-type': 'application/json' },
        });
        return answer;
      });
    } catch (error) {
      throw classifySalesforceError(error);
    }
    results.forEach((result, i) => {
      const recordId = sent[i] ?? '(unknown)';
      if (result.success) {
        outcome.written += 1;
        return;
      }
      const first = result.errors?.[0];
      const code = `SALESFORCE_${(first?.statusCode ?? 'UNKNOWN').toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
      const fields = first?.fields?.length ? ` (fields: ${first.fields.join(', ')})` : '';
      outcome.failures.push({ recordId, code, message: `${first?.message ?? 'refused'}${fields}`.slice(0, 1000) });
    });
    return outcome;
  }
}

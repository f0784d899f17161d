import type { BatchWriteBackConfig } from '@mcp-broker/broker-config';
import type { CatalogFailureCode } from '@mcp-broker/contracts';
import { classifySalesforceError, type OrgConnection } from '@mcp-broker/salesforce';

/** The run's failure code when the org cannot take the write-back as configured. */
export const WRITE_BACK_INVALID = 'BATCH_WRITE_BACK_INVALID' satisfies CatalogFailureCode;

/** Why a run cannot write back: it fails with this before calling any tool. */
export interface WriteBackRefusal {
  code: typeof WRITE_BACK_INVALID;
  message: string;
}

/** What the check reads of one field of `GET sobjects/<T>/describe`. */
interface DescribedField {
  name: string;
  externalId?: boolean;
  idLookup?: boolean;
  createable?: boolean;
  updateable?: boolean;
}

interface SObjectDescribe {
  name: string;
  fields: DescribedField[];
}

/** A describe, or Salesforce's final refusal of it (the object does not exist, no access). */
type Described = { ok: true; fields: Map<string, DescribedField>; name: string } | { ok: false; reason: string };

export interface WriteBackCheckOptions {
  /** The connected orgs (the run's write-back org). */
  org: (orgId: string) => OrgConnection;
  /** How long a describe is kept per (org, sObject), in ms. Default 300,000 (5 minutes). */
  cacheMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * Checks a schedule's write-back against the org's describe of its sObject
 * (`GET /services/data/vNN.N/sobjects/<T>/describe`) at the start of a run: the object exists,
 * `externalIdField` is a field of it marked External ID (or idLookup), and every mapped field
 * exists and can be written (updateable; createable too for an upsert, which may create). Without
 * it a wrong name would only show when Salesforce refused the first chunk, after every tool call.
 *
 * Not at process start: the org may be unreachable then, which is no configuration error. A
 * describe is kept per (org, sObject) for `cacheMs` (concurrent runs share one request); a
 * transient failure is thrown and not kept, so the run retries it as it does a source page.
 */
export class WriteBackCheck {
  readonly #o: WriteBackCheckOptions;
  readonly #cache = new Map<string, { until: number; described: Promise<Described> }>();

  constructor(options: WriteBackCheckOptions) {
    this.#o = options;
  }

  /** Undefined when the write-back can go ahead; throws the classified error of a transient describe failure. */
  async check(scheduleId: string, config: BatchWriteBackConfig): Promise<WriteBackRefusal | undefined> {
    const described = await this.#describe(config.org, config.sobject);
    const refuse = (problems: string[]): WriteBackRefusal => ({
      code: WRITE_BACK_INVALID,
      message: `Schedule "${scheduleId}": the write-back to ${config.sobject} in org "${config.org}" cannot be done: ${problems.join('; ')}.`,
    });
    if (!described.ok) return refuse([`writeBack.sobject: ${described.reason}`]);
    const { fields, name } = described;
    const problems: string[] = [];
    const key = config.externalIdField;
    if (key !== undefined) {
      const field = fields.get(key.toLowerCase());
      if (!field) problems.push(`writeBack.externalIdField: ${name} has no field "${key}"`);
      else if (field.externalId !== true && field.idLookup !== true) {
        problems.push(
          `writeBack.externalIdField: ${name}.${field.name} is no External ID (or idLookup) field, so an upsert cannot match on it`,
        );
      }
    }
    // An upsert may create the record or update it: both must be allowed.
    const needs: readonly ('createable' | 'updateable')[] =
      key === undefined ? ['updateable'] : ['createable', 'updateable'];
    for (const mapped of Object.keys(config.fields)) {
      const field = fields.get(mapped.toLowerCase());
      if (!field) {
        problems.push(`writeBack.fields.${mapped}: ${name} has no field "${mapped}"`);
        continue;
      }
      const missing = needs.filter((flag) => field[flag] !== true);
      if (missing.length > 0)
        problems.push(`writeBack.fields.${mapped}: ${name}.${field.name} is not ${missing.join(' and ')}`);
    }
    return problems.length === 0 ? undefined : refuse(problems);
  }

  #describe(orgId: string, sobject: string): Promise<Described> {
    const now = (this.#o.now ?? Date.now)();
    const key = `${orgId}\n${sobject.toLowerCase()}`;
    const cached = this.#cache.get(key);
    if (cached && cached.until > now) return cached.described;
    const described = this.#fetch(orgId, sobject);
    const entry = { until: now + (this.#o.cacheMs ?? 300_000), described };
    this.#cache.set(key, entry);
    described.catch(() => {
      if (this.#cache.get(key) === entry) this.#cache.delete(key);
    });
    return described;
  }

  async #fetch(orgId: string, sobject: string): Promise<Described> {
    try {
      const answer = await this.#o.org(orgId).withSession((conn) =>
        conn.request<SObjectDescribe>({
          method: 'GET',
          url: `/services/data/v${conn.version}/sobjects/${encodeURIComponent(sobject)}/describe`,
        }),
      );
      return {
        ok: true,
        name: answer.name,
        fields: new Map(answer.fields.map((f) => [f.name.toLowerCase(), f])),
      };
    } catch (error) {
      const failure = classifySalesforceError(error);
      if (failure.kind !== 'permanent') throw failure;
      // Salesforce's own code (jsforce's errorCode): 404 NOT_FOUND is the describe of an unknown object.
      const notFound = (error as { errorCode?: unknown } | null)?.errorCode === 'NOT_FOUND';
      return {
        ok: false,
        reason: notFound
          ? `the org has no sObject "${sobject}" (describe: ${failure.message})`
          : `the org refused to describe it (${failure.code}: ${failure.message})`,
      };
    }
  }
}

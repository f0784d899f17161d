import type { DeliveryContext, WriteBackTargetHandler } from '@mcp-broker/broker';
import type { SalesforceResultTarget, ToolCallRecord } from '@mcp-broker/contracts';
import { fitToFieldLimits, type SObjectFieldLimits } from './field-limits.ts';
import type { FieldValue } from './outcome-mapping.ts';
import { outcomeFields, resultRecordName } from './result-fields.ts';
import { classifySalesforceError } from './salesforce-error.ts';
import {
  type SalesforceReceipt,
  SalesforceTargetDelivery,
  type SalesforceTargetOptions,
} from './salesforce-target-delivery.ts';

export const RESULT_SOBJECT = 'MCP_Result__c';
export const RESULT_EXTERNAL_ID = 'Request_Id__c';

export interface SalesforceResultReceipt extends SalesforceReceipt {
  /** True when the upsert created the record, false when it updated it. */
  created?: boolean;
  requestId: string;
}

/**
 * The values of an `MCP_Result__c`. `Name` is written only where the org lets it be (the
 * packaged object's `Name` is an auto-number; an org may define it as text).
 */
export function resultValues(
  record: ToolCallRecord,
  target: SalesforceResultTarget,
  limits: SObjectFieldLimits,
): Record<string, FieldValue> {
  return {
    ...(limits.field('Name')?.writable ? { Name: resultRecordName(record) } : {}),
    ...outcomeFields(record, target.requestId ?? record.idempotencyKey),
    Completed_At__c: record.completedAt ?? null,
    ...(target.relatedRecordId ? { Related_Record_Id__c: target.relatedRecordId } : {}),
  };
}

/**
 * `salesforce-result`: upserts an `MCP_Result__c` by its external id `Request_Id__c` (default the
 * call's idempotency key) with `Status__c`, `Tool__c`, `Result__c` (JSON of `structuredContent`,
 * else the text), `Error__c` (`code: message`, cleared on success), `Completed_At__c` and, where
 * `Name` is not an auto-number, `Name` (tool and short call id). `Related_Record_Id__c` is
 * written only when the target names a record, so a record a Flow created beforehand keeps its
 * own. Repeating it updates the same record: idempotent.
 *
 * The upsert goes through SObject Collections (`PATCH composite/sobjects/<T>/<field>`, API 46.0+),
 * which carries the external id in the body: a request id may hold any character.
 */
export class SalesforceResultHandler implements WriteBackTargetHandler<SalesforceResultTarget> {
  readonly type = 'salesforce-result' as const;
  readonly #delivery: SalesforceTargetDelivery;

  constructor(options: SalesforceTargetOptions) {
    this.#delivery = new SalesforceTargetDelivery(options);
  }

  async deliver(target: SalesforceResultTarget, context: DeliveryContext): Promise<SalesforceResultReceipt> {
    const { record } = context;
    const org = this.#delivery.orgFor(target, record);
    const requestId = target.requestId ?? record.idempotencyKey;

    return this.#delivery.write(org, RESULT_SOBJECT, context, async ({ conn, limits, pointer }) => {
      const fitted = fitToFieldLimits(resultValues(record, target, limits), limits, pointer);
      const [saved] = await conn.sobject(RESULT_SOBJECT).upsert([fitted.values], RESULT_EXTERNAL_ID);
      if (!saved?.success) throw classifySalesforceError(saved ?? { success: false, errors: [] });
      return {
        org: org.id,
        sobject: RESULT_SOBJECT,
        id: saved.id,
        requestId,
        ...(saved.created === undefined ? {} : { created: saved.created }),
        ...(fitted.truncated.length > 0 ? { truncated: fitted.truncated } : {}),
      };
    });
  }
}

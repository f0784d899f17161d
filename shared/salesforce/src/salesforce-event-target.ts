import type { DeliveryContext, WriteBackTargetHandler } from '@mcp-broker/broker';
import type { SalesforceEventTarget } from '@mcp-broker/contracts';
import { fitToFieldLimits } from './field-limits.ts';
import type { FieldValue } from './outcome-mapping.ts';
import { outcomeFields } from './result-fields.ts';
import { classifySalesforceError } from './salesforce-error.ts';
import {
  type SalesforceReceipt,
  SalesforceTargetDelivery,
  type SalesforceTargetOptions,
} from './salesforce-target-delivery.ts';

export const RESULT_EVENT = 'MCP_Tool_Result__e';

export interface SalesforceEventReceipt extends SalesforceReceipt {
  /** The `EventUuid` Salesforce reported (`OPERATION_ENQUEUED`), when it did. */
  eventUuid?: string;
  requestId: string;
}

/**
 * `salesforce-event`: publishes an `MCP_Tool_Result__e` platform event (`POST
 * sobjects/MCP_Tool_Result__e`) with `Request_Id__c` (default the call's idempotency key),
 * `Status__c`, `Tool__c`, `Result__c`, `Error__c` and `Record_Id__c`, for Flows and Apex waiting
 * on the result.
 *
 * Publishing is not idempotent on Salesforce's side: every publish is a new event, and Salesforce
 * offers no way to ask whether one was published. Delivery is at least once: after a crash (or an
 * attempt that ran out of time) between the publish and the bookkeeping the event is published
 * again, and the delivery's `unconfirmedAttempts` says so. Subscribers dedupe by `Request_Id__c`.
 */
export class SalesforceEventHandler implements WriteBackTargetHandler<SalesforceEventTarget> {
  readonly type = 'salesforce-event' as const;
  readonly #delivery: SalesforceTargetDelivery;

  constructor(options: SalesforceTargetOptions) {
    this.#delivery = new SalesforceTargetDelivery(options);
  }

  async deliver(target: SalesforceEventTarget, context: DeliveryContext): Promise<SalesforceEventReceipt> {
    const { record } = context;
    const org = this.#delivery.orgFor(target, record);
    const requestId = target.requestId ?? record.idempotencyKey;
    const values: Record<string, FieldValue> = {
      ...outcomeFields(record, requestId),
      ...(target.relatedRecordId ? { Record_Id__c: target.relatedRecordId } : {}),
    };

    return this.#delivery.write(org, RESULT_EVENT, context, async ({ conn, limits, pointer }) => {
      const fitted = fitToFieldLimits(values, limits, pointer);
      const saved = await conn.sobject(RESULT_EVENT).create(fitted.values);
      if (!saved.success) throw classifySalesforceError(saved);
      // A published event answers success with one "error": OPERATION_ENQUEUED carrying its EventUuid.
      const enqueued = (saved.errors as { statusCode?: string; message?: string }[]).find(
        (e) => e.statusCode === 'OPERATION_ENQUEUED',
      );
      return {
        org: org.id,
        sobject: RESULT_EVENT,
        id: saved.id,
        requestId,
        ...(enqueued?.message ? { eventUuid: enqueued.message } : {}),
        ...(fitted.truncated.length > 0 ? { truncated: fitted.truncated } : {}),
      };
    });
  }
}

import { type DeliveryContext, DeliveryError, type WriteBackTargetHandler } from '@mcp-broker/broker';
import type { SalesforceRecordTarget } from '@mcp-broker/contracts';
import { fitToFieldLimits } from './field-limits.ts';
import { evaluateFieldMapping, type FieldMappingOptions, MAPPING_FAILED, outcomeContext } from './outcome-mapping.ts';
import { classifySalesforceError } from './salesforce-error.ts';
import {
  type SalesforceReceipt,
  SalesforceTargetDelivery,
  type SalesforceTargetOptions,
} from './salesforce-target-delivery.ts';

export interface SalesforceRecordOptions extends SalesforceTargetOptions {
  /** Guards for the JSONata expressions (time, recursion). Default: 1 s, depth 500. */
  mapping?: FieldMappingOptions;
}

export interface SalesforceRecordReceipt extends SalesforceReceipt {
  /** The fields written (declared spelling); empty when every expression gave nothing. */
  fields: string[];
}

/**
 * `salesforce-record`: updates fields of one record (`PATCH sobjects/<T>/<id>`) with values
 * computed by JSONata over the outcome. Repeating it writes the same values: idempotent.
 *
 * The mapping is evaluated whatever the call's status, so a target can record failures too
 * (`error ? error.code & ': ' & error.message : null`). An expression that gives nothing leaves
 * its field alone, so `status = 'succeeded' ? structuredContent.url` writes only on success; when
 * no expression gives a value, nothing is sent to Salesforce.
 */
export class SalesforceRecordHandler implements WriteBackTargetHandler<SalesforceRecordTarget> {
  readonly type = 'salesforce-record' as const;
  readonly #delivery: SalesforceTargetDelivery;
  readonly #mapping: FieldMappingOptions | undefined;

  constructor(options: SalesforceRecordOptions) {
    this.#delivery = new SalesforceTargetDelivery(options);
    this.#mapping = options.mapping;
  }

  async deliver(target: SalesforceRecordTarget, context: DeliveryContext): Promise<SalesforceRecordReceipt> {
    const { record } = context;
    const org = this.#delivery.orgFor(target, record);
    const idField = Object.keys(target.fields).find((field) => field.toLowerCase() === 'id');
    if (idField !== undefined) {
      throw new DeliveryError(
        'permanent',
        MAPPING_FAILED,
        `Field ${idField} cannot be mapped: the record is the target's recordId.`,
      );
    }
    const values = await evaluateFieldMapping(target.fields, outcomeContext(record), this.#mapping);
    const base = { org: org.id, sobject: target.sobject, id: target.recordId };
    if (Object.keys(values).length === 0) return { ...base, fields: [] };

    return this.#delivery.write(org, target.sobject, context, async ({ conn, limits, pointer }) => {
      const fitted = fitToFieldLimits(values, limits, pointer);
      const saved = await conn.sobject(limits.sobject).update({ ...fitted.values, Id: target.recordId });
      if (!saved.success) throw classifySalesforceError(saved);
      if (fitted.truncated.length > 0) {
        this.#delivery.logger.info(
          { org: org.id, sobject: limits.sobject, callId: record.id, fields: fitted.truncated },
          'values truncated to fit Salesforce fields',
        );
      }
      return {
        ...base,
        sobject: limits.sobject,
        id: saved.id ?? target.recordId,
        fields: Object.keys(fitted.values),
        ...(fitted.truncated.length > 0 ? { truncated: fitted.truncated } : {}),
      };
    });
  }
}

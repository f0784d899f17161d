import { type DeliveryContext, DeliveryError } from '@mcp-broker/broker';
import type { SalesforceTarget, ToolCallRecord } from '@mcp-broker/contracts';
import { raceAbort } from '@mcp-broker/resilience';
import type { Connection } from 'jsforce';
import { FieldLimits, type SObjectFieldLimits, truncationPointer } from './field-limits.ts';
import type { OrgConnection } from './org-connection.ts';
import { classifySalesforceError } from './salesforce-error.ts';
import { type SalesforceLogger, silentLogger } from './salesforce-logger.ts';
import { orgForTarget, type SalesforceOrgs } from './salesforce-target-access.ts';

/** What every Salesforce write-back handler is built with. */
export interface SalesforceTargetOptions {
  /** The connected orgs: an `OrgConnections`, or a lookup by org id. */
  orgs: SalesforceOrgs;
  /**
   * The broker URL of a call's full result (`GET /v1/tool-calls/{id}`), ending every truncated
   * value. Default: the path `GET /v1/tool-calls/<id>`.
   */
  resultUrlFor?: (record: ToolCallRecord) => string;
  /** The describe cache; share one between the handlers. Default: one per handler. */
  fieldLimits?: FieldLimits;
  /** Default: silent. */
  logger?: SalesforceLogger;
}

/** Every receipt names where the outcome went. */
export interface SalesforceReceipt extends Record<string, unknown> {
  org: string;
  sobject: string;
  /** The record (or event) id Salesforce answered. */
  id: string;
  /** Fields cut to fit their length (see `fitToFieldLimits`); absent when none was. */
  truncated?: string[];
}

export interface TargetWrite {
  org: OrgConnection;
  conn: Connection;
  limits: SObjectFieldLimits;
  /** Ends a truncated value. */
  pointer: string;
}

/**
 * The steps the three handlers share, in order: the target's org must belong to the call's
 * caller; then, within the delivery's time budget, the sObject's field limits and the write run
 * with a session that is renewed once if Salesforce refuses it; every failure leaves as a
 * classified `DeliveryError`.
 */
export class SalesforceTargetDelivery {
  readonly #orgs: SalesforceOrgs;
  readonly #resultUrlFor: ((record: ToolCallRecord) => string) | undefined;
  readonly fieldLimits: FieldLimits;
  readonly logger: SalesforceLogger;

  constructor(options: SalesforceTargetOptions) {
    this.#orgs = options.orgs;
    this.#resultUrlFor = options.resultUrlFor;
    this.fieldLimits = options.fieldLimits ?? new FieldLimits();
    this.logger = options.logger ?? silentLogger;
  }

  /** The target's org, checked against the call's caller (permanent `SALESFORCE_ORG_NOT_ALLOWED`). */
  orgFor(target: SalesforceTarget, record: ToolCallRecord): OrgConnection {
    return orgForTarget(this.#orgs, target, record.caller);
  }

  pointerFor(record: ToolCallRecord): string {
    return truncationPointer(this.#resultUrlFor?.(record) ?? `GET /v1/tool-calls/${record.id}`);
  }

  async write<T>(
    org: OrgConnection,
    sobject: string,
    { record, signal }: DeliveryContext,
    fn: (write: TargetWrite) => Promise<T>,
  ): Promise<T> {
    if (signal.aborted) throw outOfTime();
    const pointer = this.pointerFor(record);
    const work = org.withSession(async (conn) => {
      const limits = await this.fieldLimits.of(org.id, sobject, conn);
      return fn({ org, conn, limits, pointer });
    });
    try {
      // jsforce takes no abort signal: when the budget runs out the attempt is given up as transient
      // and unconfirmed and the request left to finish (a repeated update or upsert is harmless).
      return await raceAbort(work, { signal, onAbort: () => outOfTime(true) });
    } catch (error) {
      const failure = classifySalesforceError(error);
      if (failure.code === 'SALESFORCE_STRING_TOO_LONG') this.fieldLimits.forget(org.id, sobject);
      throw failure;
    }
  }
}

/** `sent`: the request was under way, so Salesforce may still apply it: the attempt is unconfirmed. */
const outOfTime = (sent = false) =>
  new DeliveryError(
    'transient',
    'SALESFORCE_TIMEOUT',
    'The delivery ran out of time before Salesforce answered; it will be tried again.',
    undefined,
    { unconfirmed: sent },
  );

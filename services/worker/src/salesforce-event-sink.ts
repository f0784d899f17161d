import type { ToolCallAcceptor } from '@mcp-broker/broker';
import type { CallerConfig, SalesforceOrgConfig } from '@mcp-broker/broker-config';
import type { ToolCallRequest } from '@mcp-broker/contracts';
import type { EventAcceptance, EventPosition, EventRefusal, ToolCallSink } from '@mcp-broker/salesforce-events';
import { SpanKind, withSpan } from '@mcp-broker/telemetry';

/**
 * Platform events enter the one path here: each event's request is handed to the same
 * `intake.accept` as an API call, as the org's caller, so it is checked, recorded and queued the
 * same way; a refused one (by the mapping or by the broker) is recorded as a failed call whose
 * write-back targets still hear about the failure. With an `AcceptCoalescer` as `intake`, the
 * events a channel hands in at once are accepted in groups; each event still gets its own answer.
 */
export class SalesforceEventSink implements ToolCallSink {
  readonly #intake: ToolCallAcceptor;
  readonly #callerOf: (org: string) => CallerConfig;

  constructor(options: {
    /** The intake, or an `AcceptCoalescer` in front of it (the worker setting SALESFORCE_ACCEPT_BATCH above 1). */
    intake: ToolCallAcceptor;
    orgs: readonly SalesforceOrgConfig[];
    callers: readonly CallerConfig[];
  }) {
    this.#intake = options.intake;
    const callers = new Map(options.callers.map((c) => [c.id, c]));
    const byOrg = new Map(options.orgs.map((o) => [o.id, callers.get(o.caller)]));
    this.#callerOf = (org) => {
      const caller = byOrg.get(org);
      // The broker configuration's own check makes this unreachable; say so if it is reached anyway.
      if (!caller) throw new Error(`Salesforce org "${org}" has no configured caller.`);
      return caller;
    };
  }

  accept(request: ToolCallRequest, position: EventPosition, refusal?: EventRefusal): Promise<EventAcceptance> {
    // The root of the call's trace (no request came in): the queue's add span and everything after
    // it hang under the event (docs/observability.md).
    return withSpan(
      `receive ${position.channel}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'salesforce',
          'messaging.destination.name': position.channel,
          'salesforce.org': position.org,
          'salesforce.replay_id': position.replayId,
        },
      },
      () => this.#accept(request, position, refusal),
    );
  }

  async #accept(request: ToolCallRequest, position: EventPosition, refusal?: EventRefusal): Promise<EventAcceptance> {
    const acceptance = await this.#intake.accept(this.#callerOf(position.org), request, refusal ? { refusal } : {});
    if (acceptance.outcome !== 'refused') return { outcome: acceptance.outcome, id: acceptance.record.id };
    // The record keeps the mapping's own code; the broker's reason stands for its own refusals.
    const { code, message } = refusal ?? acceptance.reason;
    return { outcome: 'refused', code, message, ...(acceptance.record ? { id: acceptance.record.id } : {}) };
  }
}

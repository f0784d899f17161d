import type { ToolCallIntake } from '@mcp-broker/broker';
import type { CallerConfig, SalesforceOrgConfig } from '@mcp-broker/broker-config';
import type { EventPosition, EventRejection, MappedEvent, ToolCallSink } from '@mcp-broker/salesforce-events';

/**
 * Platform events enter the one path here: a mapped event is submitted through the same intake as
 * an API call, as the org's caller, so it is checked, recorded and queued the same way; a refused
 * one is recorded as a failed call whose write-back targets still hear about the failure.
 */
export class SalesforceEventSink implements ToolCallSink {
  readonly #intake: ToolCallIntake;
  readonly #callerOf: (org: string) => CallerConfig;

  constructor(options: {
    intake: ToolCallIntake;
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

  async submit(request: MappedEvent, position: EventPosition): Promise<{ id: string; created: boolean }> {
    const { created, record } = await this.#intake.submit(
      this.#callerOf(position.org),
      {
        tool: request.tool,
        arguments: request.arguments,
        writeBack: request.writeBack,
        idempotencyKey: request.idempotencyKey,
        source: request.source,
      },
      { requestId: requestIdOf(position) },
    );
    return { id: record.id, created };
  }

  async reject(rejection: EventRejection): Promise<void> {
    const partial = rejection.partial ?? {};
    await this.#intake.reject(
      this.#callerOf(rejection.org),
      {
        tool: partial.tool ?? '',
        arguments: partial.arguments ?? {},
        writeBack: partial.writeBack ?? [],
        idempotencyKey:
          partial.idempotencyKey ??
          rejection.eventUuid ??
          `${rejection.org}:${rejection.channel}:${rejection.replayId}`,
        source: partial.source ?? {
          kind: 'salesforce',
          reference: `${rejection.org}/${rejection.channel}/${rejection.replayId}`,
        },
      },
      { code: rejection.code, message: rejection.reason },
      { requestId: requestIdOf(rejection) },
    );
  }
}

/** Every log line and record of an event's call carries where the event came from. */
function requestIdOf(position: EventPosition): string {
  return `sf:${position.org}:${position.channel.replace(/^\/event\//, '')}:${position.replayId}`;
}

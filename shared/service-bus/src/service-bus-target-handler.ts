/**
 * The `service-bus` write-back target: the call's outcome as one message on a configured queue or
 * topic (`serviceBus.targets[]`).
 *
 * - `messageId` = `<call id>:<target index>:<replay generation>`: every attempt of one delivery
 *   sends the same id, so duplicate detection on the entity absorbs a retried send.
 * - `correlationId` = the request's id (for a request that came from Service Bus, its messageId).
 * - `subject` = the target's `subject`, else `<subjectPrefix>.<status>`; application properties
 *   `caller`, `tool`, `status`, `callId` (and `errorCode`) for subscription filters.
 *
 * SDK errors by ServiceBusError code: busy, timeout, general, connection and quota errors are
 * transient (retried by the write-back queue); unauthorized, unknown entity and too large are final.
 */

import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { isServiceBusError, type ServiceBusMessage, type ServiceBusSender } from '@azure/service-bus';
import { type DeliveryContext, DeliveryError, type WriteBackTargetHandler } from '@mcp-broker/broker';
import { SecretMissingError, type ServiceBusTargetConfig } from '@mcp-broker/broker-config';
import type { ServiceBusOutcomeMessage, ServiceBusTarget, ToolCallRecord } from '@mcp-broker/contracts';
import type { ServiceBusClients } from './service-bus-clients.ts';

export interface ServiceBusTargetHandlerOptions {
  targets: readonly ServiceBusTargetConfig[];
  clients: Pick<ServiceBusClients, 'get'>;
}

export class ServiceBusTargetHandler implements WriteBackTargetHandler<ServiceBusTarget> {
  readonly type = 'service-bus' as const;
  readonly #targets: ReadonlyMap<string, ServiceBusTargetConfig>;
  readonly #clients: Pick<ServiceBusClients, 'get'>;
  readonly #senders = new Map<string, ServiceBusSender>();

  constructor(options: ServiceBusTargetHandlerOptions) {
    this.#targets = new Map(options.targets.map((t) => [t.id, t]));
    this.#clients = options.clients;
  }

  async deliver(target: ServiceBusTarget, context: DeliveryContext): Promise<Record<string, unknown>> {
    const { record } = context;
    const config = this.#targets.get(target.destination);
    // A target of another caller reads the same as an unknown one: callers learn nothing of others.
    if (!config?.callers.includes(record.caller)) {
      throw new DeliveryError(
        'permanent',
        'SERVICE_BUS_TARGET_NOT_ALLOWED',
        `No Service Bus target "${target.destination.slice(0, 64)}" is configured for caller "${record.caller}".`,
      );
    }
    const message = outcomeMessage(record, context.targetIndex, config, target.subject);
    try {
      await this.#sender(config).sendMessages(message, { abortSignal: context.signal });
    } catch (error) {
      throw classify(error, config);
    }
    return { messageId: message.messageId, entity: config.queue ?? config.topic, subject: message.subject };
  }

  /** Closes the senders (the clients are closed by their owner). */
  async close(): Promise<void> {
    const senders = [...this.#senders.values()];
    this.#senders.clear();
    await Promise.allSettled(senders.map((sender) => sender.close()));
  }

  #sender(config: ServiceBusTargetConfig): ServiceBusSender {
    let sender = this.#senders.get(config.id);
    if (!sender) {
      sender = this.#clients.get(config.namespace, 'send').createSender(config.queue ?? config.topic ?? '');
      this.#senders.set(config.id, sender);
    }
    return sender;
  }
}

/** The message a delivery sends; the same for every attempt of the delivery. */
export function outcomeMessage(
  record: ToolCallRecord,
  targetIndex: number,
  config: Pick<ServiceBusTargetConfig, 'subjectPrefix' | 'inlineResultMaxBytes'>,
  subject?: string,
): ServiceBusMessage & { messageId: string; subject: string } {
  const body: ServiceBusOutcomeMessage = {
    callId: record.id,
    caller: record.caller,
    tool: record.tool,
    status: record.status,
    idempotencyKey: record.idempotencyKey,
    ...(record.completedAt ? { completedAt: record.completedAt } : {}),
    ...(record.error ? { error: { code: record.error.code, message: record.error.message } } : {}),
  };
  if (record.result !== undefined) {
    const size = Buffer.byteLength(JSON.stringify(record.result) ?? '');
    if (size <= config.inlineResultMaxBytes) body.result = record.result;
    else body.resultOmitted = true;
  }
  return {
    messageId: `${record.id}:${targetIndex}:${record.replays ?? 0}`,
    correlationId: record.correlation.requestId,
    subject: subject ?? `${config.subjectPrefix}.${record.status}`,
    contentType: 'application/json',
    body,
    applicationProperties: {
      callId: record.id,
      caller: record.caller,
      tool: record.tool,
      status: record.status,
      ...(record.error ? { errorCode: record.error.code } : {}),
    },
  };
}

/** A failed send as a delivery error: the ServiceBusError code decides the retry class. */
export function classify(error: unknown, config: Pick<ServiceBusTargetConfig, 'id'>): DeliveryError {
  const at = `Service Bus target ${config.id}`;
  if (error instanceof DeliveryError) return error;
  if (
    error instanceof SecretMissingError ||
    error instanceof CredentialUnavailableError ||
    error instanceof AuthenticationError
  ) {
    return new DeliveryError('permanent', 'SERVICE_BUS_CREDENTIAL_FAILED', `${at}: ${error.message}`);
  }
  if ((error as { name?: unknown } | null)?.name === 'AbortError') {
    return new DeliveryError('transient', 'SERVICE_BUS_UNAVAILABLE', `${at}: the send was cut off`, undefined, {
      unconfirmed: true,
    });
  }
  if (isServiceBusError(error)) {
    const message = `${at}: ${error.code}: ${error.message}`;
    switch (error.code) {
      case 'UnauthorizedAccess':
        return new DeliveryError('permanent', 'SERVICE_BUS_UNAUTHORIZED', message);
      case 'MessagingEntityNotFound':
      case 'MessagingEntityDisabled':
        return new DeliveryError('permanent', 'SERVICE_BUS_ENTITY_NOT_FOUND', message);
      case 'MessageSizeExceeded':
        return new DeliveryError('permanent', 'SERVICE_BUS_MESSAGE_TOO_LARGE', message);
      case 'QuotaExceeded':
        return new DeliveryError('transient', 'SERVICE_BUS_QUOTA_EXCEEDED', message);
      default:
        // ServiceBusy, ServiceTimeout, GeneralError, ServiceCommunicationProblem… A busy namespace
        // refused the message; a timeout or a lost connection may come after it was taken (the
        // repeat carries the same messageId).
        return new DeliveryError('transient', 'SERVICE_BUS_UNAVAILABLE', message, undefined, {
          unconfirmed: error.code !== 'ServiceBusy',
        });
    }
  }
  const text = error instanceof Error ? error.message : String(error);
  return new DeliveryError('transient', 'SERVICE_BUS_UNAVAILABLE', `${at}: ${text}`, undefined, { unconfirmed: true });
}

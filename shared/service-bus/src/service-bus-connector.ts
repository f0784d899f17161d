/**
 * Service Bus in the worker, wired once from the `serviceBus` section: the clients per namespace,
 * one receiver per source (each under its caller), and the `service-bus` write-back handler.
 *
 *   const serviceBus = new ServiceBusConnector({ config: broker.serviceBus, callers, intake, env, logger });
 *   writeBackHandlers: [..., serviceBus.targetHandler]
 *   serviceBus.start(); … await serviceBus.close();
 */

import type { ServiceBusClientOptions } from '@azure/service-bus';
import type { ToolCallIntake } from '@mcp-broker/broker';
import type { CallerConfig, ServiceBusConfig } from '@mcp-broker/broker-config';
import type { BackoffOptions } from '@mcp-broker/resilience';
import { MessageIntake } from './message-intake.ts';
import { ServiceBusClients } from './service-bus-clients.ts';
import { type ServiceBusLogger, silentLogger } from './service-bus-logger.ts';
import { ServiceBusSourceReceiver, type ServiceBusSourceStatus } from './service-bus-source-receiver.ts';
import { ServiceBusTargetHandler } from './service-bus-target-handler.ts';

export interface ServiceBusConnectorOptions {
  config: ServiceBusConfig;
  callers: readonly CallerConfig[];
  intake: Pick<ToolCallIntake, 'accept'>;
  env: Record<string, string | undefined>;
  logger?: ServiceBusLogger;
  /** Receive from the sources (default true); false keeps only the write-back target (e.g. a replica that must not consume). */
  receive?: boolean;
  /** Extra SDK client options (tests shorten timeouts). */
  clientOptions?: ServiceBusClientOptions;
  /** Wait before abandoning a message after a transient failure. Default 1 s doubling to 30 s. */
  abandonBackoff?: BackoffOptions;
  /** Session sources: wait before asking again when no session is free. Default 1,000 ms. */
  sessionPollMs?: number;
}

export class ServiceBusConnector {
  readonly clients: ServiceBusClients;
  readonly targetHandler: ServiceBusTargetHandler;
  readonly receivers: readonly ServiceBusSourceReceiver[];

  constructor(options: ServiceBusConnectorOptions) {
    const logger = options.logger ?? silentLogger;
    this.clients = new ServiceBusClients({
      namespaces: options.config.namespaces,
      env: options.env,
      ...(options.clientOptions ? { clientOptions: options.clientOptions } : {}),
    });
    this.targetHandler = new ServiceBusTargetHandler({ targets: options.config.targets, clients: this.clients });
    const callers = new Map(options.callers.map((c) => [c.id, c]));
    this.receivers =
      options.receive === false
        ? []
        : options.config.sources.map((source) => {
            const caller = callers.get(source.caller);
            // The broker configuration's own check makes this unreachable; say so if it is reached anyway.
            if (!caller) throw new Error(`serviceBus.sources[${source.id}]: unknown caller "${source.caller}"`);
            return new ServiceBusSourceReceiver({
              source,
              client: this.clients.get(source.namespace, 'receive'),
              intake: new MessageIntake({
                intake: options.intake,
                caller,
                source,
                logger,
                ...(options.abandonBackoff ? { abandonBackoff: options.abandonBackoff } : {}),
              }),
              logger,
              ...(options.sessionPollMs === undefined ? {} : { sessionPollMs: options.sessionPollMs }),
            });
          });
  }

  start(): void {
    for (const receiver of this.receivers) receiver.start();
  }

  status(): ServiceBusSourceStatus[] {
    return this.receivers.map((receiver) => receiver.status());
  }

  /** Receivers first (messages in hand finish), then the senders and the connections. */
  async close(): Promise<void> {
    await Promise.allSettled(this.receivers.map((receiver) => receiver.stop()));
    await this.targetHandler.close();
    await this.clients.close();
  }
}

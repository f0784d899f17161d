export { MessageIntake, type MessageIntakeOptions, type MessageOutcome, type Settlement } from './message-intake.ts';
export {
  type MappedRequest,
  type ReceivedRequestMessage,
  type RequestSource,
  requestFromMessage,
} from './request-from-message.ts';
export {
  type ClientUse,
  entraCredential,
  ServiceBusClients,
  type ServiceBusClientsOptions,
} from './service-bus-clients.ts';
export { ServiceBusConnector, type ServiceBusConnectorOptions } from './service-bus-connector.ts';
export { type ServiceBusLogger, silentLogger } from './service-bus-logger.ts';
export {
  type ReceiverState,
  ServiceBusSourceReceiver,
  type ServiceBusSourceReceiverOptions,
  type ServiceBusSourceStatus,
} from './service-bus-source-receiver.ts';
export {
  classify,
  outcomeMessage,
  ServiceBusTargetHandler,
  type ServiceBusTargetHandlerOptions,
} from './service-bus-target-handler.ts';

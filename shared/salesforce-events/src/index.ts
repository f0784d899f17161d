export type { BackoffOptions } from './backoff.ts';
export {
  type ChannelSettings,
  ChannelSubscriber,
  type ChannelSubscriberOptions,
  type ChannelSubscriberState,
  type ChannelSubscriberStatus,
  type ReplayPolicy,
  type ReplayRefusedAlert,
  type SalesforceConnections,
} from './channel-subscriber.ts';
export {
  EventMapper,
  EventMappingConfigError,
  type EventMappingContext,
  mapPlatformEvent,
} from './event-mapping.ts';
export {
  EventRejected,
  type EventRejectionCode,
  eventRejectionCodes,
  isEventRejected,
} from './event-rejected.ts';
export type { EventsLogger } from './events-logger.ts';
export type { PlatformEventMessage } from './platform-event.ts';
export {
  type ChannelRole,
  type ChannelStatus,
  type ConnectorOrg,
  leaseKey,
  PlatformEventConnector,
  type PlatformEventConnectorOptions,
} from './platform-event-connector.ts';
export {
  checkpointId,
  type ReplayCheckpoint,
  ReplayCheckpointStore,
  type ReplayCheckpointStoreOptions,
  type StoredAlert,
} from './replay-checkpoint-store.ts';
export {
  DEFAULT_LEASE_TTL_MS,
  type LeaseLostReason,
  SubscriberLease,
  type SubscriberLeaseOptions,
} from './subscriber-lease.ts';
export type { EventAcceptance, EventPosition, EventRefusal, ToolCallSink } from './tool-call-sink.ts';

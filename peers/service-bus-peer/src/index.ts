export { DuplicateWindow } from './duplicate-window.ts';
export { type EntityKind, type EntitySettings, PeerEntity, type StoredMessage } from './peer-entity.ts';
export {
  checkSasToken,
  type ParsedSasToken,
  parseSasToken,
  type SasPolicy,
  type SasRight,
  signSasToken,
} from './sas-token.ts';
export {
  type InjectedSendFailure,
  type QueueSettings,
  ServiceBusPeer,
  type ServiceBusPeerOptions,
  type SubscriptionSettings,
  type TopicSettings,
} from './service-bus-peer.ts';

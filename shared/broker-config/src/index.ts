export {
  type BrokerConfig,
  brokerConfigSchema,
  type CallerAuthConfig,
  type CallerConfig,
  callerSchema,
  type EndpointConfig,
  endpointSchema,
  type UpstreamCredentialConfig,
  upstreamCredentialSchema,
} from './broker-config.ts';
export { type BrokerSettings, brokerSettingsSchema, defaultBrokerSettings } from './broker-settings.ts';
export { assertSecretsPresent } from './check-secrets.ts';
export {
  type DatabricksAuthConfig,
  type DatabricksConfig,
  type DatabricksEventType,
  type DatabricksRouteConfig,
  type DatabricksWebhookSourceConfig,
  type DatabricksWorkspaceConfig,
  databricksConfigSchema,
  databricksEventTypes,
} from './databricks-config.ts';
export {
  applyDeprecatedSettingsEnv,
  type DeprecatedSettingsEnv,
  deprecatedSettingsEnv,
} from './deprecated-settings-env.ts';
export {
  checkEventGrid,
  type EventGridConfig,
  type EventGridCredential,
  type EventGridPullSubscription,
  type EventGridPushAuth,
  type EventGridPushSubscription,
  type EventGridRoute,
  type EventGridTopic,
  eventGridConfigSchema,
  eventGridCredentialSchema,
  eventGridPullSubscriptionSchema,
  eventGridPushSubscriptionSchema,
  eventGridRouteSchema,
  eventGridTopicSchema,
} from './event-grid-config.ts';
export { BrokerConfigError, loadBrokerConfigFile, parseBrokerConfig } from './load-broker-config.ts';
export { hashPassword, verifyPassword } from './password-hash.ts';
export {
  type EventMapping,
  eventMappingSchema,
  SALESFORCE_CHANNEL_DEFAULTS,
  type SalesforceAuthConfig,
  type SalesforceChannelConfig,
  type SalesforceConfig,
  type SalesforceOrgConfig,
  salesforceAuthSchema,
  salesforceChannelSchema,
  salesforceConfigSchema,
  salesforceOrgSchema,
} from './salesforce-config.ts';
export {
  type BatchSourceConfig,
  type BatchWriteBackConfig,
  batchSourceConfigSchema,
  batchWriteBackSchema,
  type ScheduleConfig,
  scheduleSchema,
} from './schedules-config.ts';
export { resolveSecret, SecretMissingError, type SecretRef, secretRefSchema } from './secret-ref.ts';
export {
  checkServiceBus,
  type ServiceBusConfig,
  type ServiceBusCredential,
  type ServiceBusNamespace,
  type ServiceBusSource,
  type ServiceBusTargetConfig,
  serviceBusConfigSchema,
  serviceBusCredentialSchema,
  serviceBusNamespaceSchema,
  serviceBusSecretRefs,
  serviceBusSourceSchema,
  serviceBusTargetConfigSchema,
} from './service-bus-config.ts';

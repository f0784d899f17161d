export { type Fault, type HttpsEndpoint, startHttpsEndpoint } from './https-endpoint.ts';
export {
  type EventGridNamespaceSandbox,
  type EventState,
  type SandboxNamespaceTopicConfig,
  type SandboxSubscriptionConfig,
  startEventGridNamespaceSandbox,
} from './namespace-sandbox.ts';
export { EVENT_GRID_AUDIENCE, type SandboxAccess } from './service-auth.ts';
export { createSelfSignedCertificate, type SelfSignedCertificate, trustCertificate } from './tls-certificate.ts';
export {
  type EventGridTopicSandbox,
  type PublishedEvent,
  type SandboxTopicConfig,
  startEventGridTopicSandbox,
} from './topic-sandbox.ts';
export {
  type DeliveryAttempt,
  type DeliveryOutcome,
  EventGridWebhookDriver,
  type WebhookSubscriptionOptions,
} from './webhook-delivery-driver.ts';

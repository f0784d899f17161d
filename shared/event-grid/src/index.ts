export { EVENT_GRID_SCOPE } from './event-grid-credential.ts';
export { createEventGridWorkerSide, type EventGridWorkerSide } from './event-grid-worker.ts';
export { type InboundEvent, readInboundEvents } from './inbound-event.ts';
export {
  NamespacePullSource,
  type NamespacePullSourceOptions,
  type NamespaceReceiver,
  type PullSourceLogger,
  type PullSourceStatus,
} from './pull/namespace-pull-source.ts';
export {
  EventGridWebhookSource,
  type EventGridWebhookSourceOptions,
  type WebhookAnswer,
  type WebhookDelivery,
} from './push/webhook-source.ts';
export { EventGridTargetHandler, type EventGridTargetOptions } from './target/event-grid-target.ts';
export { type OutcomeCloudEvent, outcomeCloudEvent } from './target/outcome-cloud-event.ts';
export {
  type EventGridAcceptance,
  type EventGridToolCallRequest,
  idempotencyKeyOf,
  type ToolCallAcceptor,
} from './tool-call-acceptor.ts';

export {
  type BrokerCore,
  type BrokerCoreOptions,
  createBrokerCore,
} from './broker-core.ts';
export { SIGNATURE_HEADER, signCallback, verifyCallbackSignature } from './delivery/callback-signature.ts';
export {
  type CallbackPolicy,
  CallbackUrlRejected,
  checkCallbackUrl,
  isPrivateAddress,
  resolveCallbackAddress,
} from './delivery/callback-url-policy.ts';
export {
  callbackPayload,
  deliveryKey,
  HttpCallbackHandler,
  type HttpCallbackOptions,
} from './delivery/http-callback-target.ts';
export {
  type AttemptOutcome,
  claimed,
  isUndelivered,
  WriteBackDelivery,
  type WriteBackDeliveryOptions,
} from './delivery/write-back-delivery.ts';
export {
  type DeliveryContext,
  DeliveryError,
  type WriteBackTargetHandler,
} from './delivery/write-back-target-handler.ts';
export { AcceptCoalescer, type ToolCallAcceptor } from './intake/accept-coalescer.ts';
export type { ArgumentProblems, ArgumentValidator } from './intake/argument-validator.ts';
export { CatalogArgumentValidator } from './intake/catalog-argument-validator.ts';
export {
  type Acceptance,
  type AcceptOptions,
  createToolCallIntake,
  MAX_CARRIED_RECORD_CHARS,
  type ManyAcceptance,
  ToolCallIntake,
  type ToolCallIntakeOptions,
} from './intake/tool-call-intake.ts';
export { type WriteBackDestinations, WriteBackPolicy } from './intake/write-back-policy.ts';
export { BrokerQueues, type BrokerQueuesOptions, bullPrefix } from './queues/broker-queues.ts';
export { CancellationListener, cancelChannel, publishCancel } from './queues/cancel-channel.ts';
export {
  MAINTENANCE_QUEUE,
  toolCallJobId,
  toolCallQueueName,
  WRITE_BACK_QUEUE,
  writeBackJobId,
} from './queues/queue-names.ts';
export { backoffDelay, defaultRetryPolicy, type RetryPolicy } from './queues/retry-policy.ts';
export { toolCallId } from './record/tool-call-id.ts';
export type { RecordedFailure, Transition } from './record/tool-call-lifecycle.ts';
export * as lifecycle from './record/tool-call-lifecycle.ts';
export {
  type Applied,
  type CreateOutcome,
  type ListOptions,
  type RecordWithWorkLeft,
  type RepositoryOptions,
  ToolCallRepository,
} from './record/tool-call-repository.ts';

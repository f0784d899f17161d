export { SIGNATURE_HEADER, signCallback, verifyCallbackSignature } from './callback-signature.ts';
export {
  type CallbackPolicy,
  CallbackUrlRejected,
  checkCallbackUrl,
  isPrivateAddress,
  resolveCallbackAddress,
} from './callback-url-policy.ts';
export { callbackPayload, deliveryKey, HttpCallbackHandler, type HttpCallbackOptions } from './http-callback-target.ts';
export { type DeliveryContext, DeliveryError, type WriteBackTargetHandler } from './write-back-target-handler.ts';

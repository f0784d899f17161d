export { buildIngressApp, type IngressAppOptions } from './app.ts';
export { type IngressConfig, ingressConfigSchema } from './config.ts';
export { type StartedIngress, startIngress } from './start.ts';
export { ToolCallService } from './tool-call-service.ts';

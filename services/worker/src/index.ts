export { BrokerWorker, type BrokerWorkerOptions } from './broker-worker.ts';
export { type WorkerConfig, workerConfigSchema } from './config.ts';
export { SalesforceEventSink } from './salesforce-event-sink.ts';
export { type StartedWorker, startWorker } from './start.ts';
export type { ToolInvoker } from './tool-invoker.ts';

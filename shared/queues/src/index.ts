export { BrokerQueues, type BrokerQueuesOptions, bullPrefix } from './broker-queues.ts';
export {
  MAINTENANCE_QUEUE,
  toolCallJobId,
  toolCallQueueName,
  WRITE_BACK_QUEUE,
  writeBackJobId,
} from './queue-names.ts';
export { backoffDelay, defaultRetryPolicy, type RetryPolicy } from './retry-policy.ts';

/**
 * One tool-call queue per caller: a caller that floods its queue never delays another's jobs, and
 * BullMQ's global concurrency and rate limit per queue hold each caller's limits across replicas.
 */
export function toolCallQueueName(caller: string): string {
  return `tool-calls.${caller}`;
}

/** Write-backs share one queue; a failing target is retried there without calling the tool again. */
export const WRITE_BACK_QUEUE = 'write-backs';

/** The broker's own periodic jobs (the reconcile sweep), scheduled once across replicas. */
export const MAINTENANCE_QUEUE = 'maintenance';

/** Job ids derive from record ids, so a second enqueue of the same call is a no-op. */
export function toolCallJobId(callId: string, replay = 0): string {
  return replay === 0 ? callId : `${callId}.replay${replay}`;
}

export function writeBackJobId(callId: string, target: number, replay = 0): string {
  return replay === 0 ? `${callId}.wb${target}` : `${callId}.replay${replay}.wb${target}`;
}

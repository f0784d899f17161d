import type { WriteBackJob, WriteBackTarget } from '@mcp-broker/contracts';
import type { ToolCallRepository } from '@mcp-broker/tool-call-store';
import { DeliveryError, type WriteBackTargetHandler } from '@mcp-broker/write-back';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';

export interface WriteBackJobDeps {
  repository: ToolCallRepository;
  handlers: readonly WriteBackTargetHandler[];
  logger: Logger;
}

/**
 * Delivers one target of one call. The tool is never called again here; a delivery already marked
 * delivered is skipped, so a redelivered job does not deliver twice.
 */
export function writeBackProcessor(deps: WriteBackJobDeps) {
  const byType = new Map(deps.handlers.map((h) => [h.type, h]));
  return async (job: Job<WriteBackJob>, token: string | undefined): Promise<string> => {
    const { callId, caller, target } = job.data;
    const log = deps.logger.child({ callId, caller, target });
    const record = await deps.repository.get(caller, callId);
    const delivery = record?.deliveries[target];
    if (!record || !delivery) {
      log.warn('write-back for an unknown call or target; dropped');
      return 'missing';
    }
    if (delivery.status !== 'pending') return delivery.status;
    const handler = byType.get(delivery.target.type) as WriteBackTargetHandler<WriteBackTarget> | undefined;
    const setDelivery = (patch: Partial<typeof delivery>) =>
      deps.repository.update(caller, callId, (current) => {
        const d = current.deliveries[target];
        if (d?.status !== 'pending') return undefined;
        const deliveries = [...current.deliveries];
        deliveries[target] = { ...d, attempts: d.attempts + 1, ...patch };
        return { ...current, deliveries };
      });
    if (!handler) {
      await setDelivery({
        status: 'failed',
        lastError: { code: 'TARGET_UNSUPPORTED', message: `No handler for ${delivery.target.type}.` },
      });
      return 'failed';
    }
    try {
      const receipt = await handler.deliver(delivery.target, {
        record,
        targetIndex: target,
        signal: AbortSignal.timeout(60_000),
      });
      await setDelivery({ status: 'delivered', deliveredAt: new Date().toISOString(), receipt });
      log.info({ type: delivery.target.type }, 'write-back delivered');
      return 'delivered';
    } catch (err) {
      const failure =
        err instanceof DeliveryError ? err : new DeliveryError('transient', 'DELIVERY_ERROR', (err as Error).message);
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (failure.kind === 'permanent' || last) {
        await setDelivery({ status: 'failed', lastError: { code: failure.code, message: failure.message } });
        log.warn({ code: failure.code }, 'write-back failed for good');
        return 'failed';
      }
      await setDelivery({ status: 'pending', lastError: { code: failure.code, message: failure.message } });
      if (failure.retryAfterMs && token) {
        // The receiver said when: wait that long rather than the backoff.
        await job.moveToDelayed(Date.now() + failure.retryAfterMs, token);
        throw new DelayedError();
      }
      throw failure;
    }
  };
}

import type { Logger } from 'pino';

export interface ShutdownOptions {
  logger: Logger;
  /** Signals that trigger shutdown; default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Hard deadline before the process exits anyway; default 25 s (under Kubernetes' 30 s grace). */
  timeoutMs?: number;
  /** Called with the exit code; default `process.exit`. */
  exit?: (code: number) => void;
}

/**
 * Runs the closers once, in reverse order of registration (last started, first stopped), on the
 * first signal; a second signal or the deadline forces exit.
 */
export function installGracefulShutdown(closers: Array<() => Promise<void>>, options: ShutdownOptions) {
  const { logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let shuttingDown = false;

  async function shutdown(signal: string) {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal; exiting now');
      exit(1);
      return;
    }
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      exit(1);
    }, options.timeoutMs ?? 25_000);
    timer.unref();
    let code = 0;
    for (const close of [...closers].reverse()) {
      try {
        await close();
      } catch (err) {
        code = 1;
        logger.error({ err }, 'error while shutting down');
      }
    }
    clearTimeout(timer);
    logger.info('shutdown complete');
    exit(code);
  }

  for (const s of signals) process.on(s, () => void shutdown(s));
  return { shutdown };
}

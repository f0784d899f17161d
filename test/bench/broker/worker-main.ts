/**
 * Broker benchmark child: the worker, started as `services/worker/src/main.ts` starts it, plus the
 * benchmark's IPC side channel, so the runner can sample its memory while it works. Started with
 * `--expose-gc`: the `checkpoint` op also reports the heap after a full collection, which tells a
 * leak (live objects piling up) from garbage not yet collected. Env: as main.ts.
 */
import { loadBrokerConfigFile } from '@mcp-broker/broker-config';
import { createLogger, loadConfig } from '@mcp-broker/runtime';
import { startWorker, workerConfigSchema } from '@mcp-broker/worker';
import { announceReady, serveParent } from '../mcp/ipc.ts';

const config = loadConfig(workerConfigSchema, process.env);
const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL });
const broker = await loadBrokerConfigFile(config.BROKER_CONFIG);
const started = await startWorker(config, broker, logger, { env: process.env });
const gc = (globalThis as { gc?: () => void }).gc;

serveParent(
  {
    /** Memory now, then (with --expose-gc) after a full collection. */
    checkpoint: async () => {
      const before = process.memoryUsage();
      gc?.();
      return { before, afterGc: gc ? process.memoryUsage() : undefined };
    },
    /** The worker's MCP client pool counters: how many sessions served how many calls. */
    poolStats: async () => started.upstream.pool.stats(),
  },
  () => started.close(),
);
announceReady({ pid: process.pid, pool: config.MCP_POOL_SIZE });

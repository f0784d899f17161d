import type { SalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import type { ReceiverFault } from './callback-receiver.ts';
import type { ChaosStack } from './chaos-stack.ts';
import type { ChaosSettings, ScenarioName } from './settings.ts';

export interface FaultContext {
  stack: ChaosStack;
  /** The Salesforce sandbox, in the salesforce-drop scenario. */
  salesforce?: SalesforceSandbox;
  settings: ChaosSettings;
  /** Resolves when this fraction of the load window has passed. */
  at(fraction: number): Promise<void>;
  sleep(ms: number): Promise<void>;
  /** What the fault did, for the table ("4 SIGKILLs"). */
  note(text: string): void;
  log(line: string): void;
}

export interface Scenario {
  name: ScenarioName;
  /** One line: the fault and what must hold. */
  describe: string;
  workers: number;
  /** Redis with AOF (fsync always); false: no persistence at all. */
  aof: boolean;
  receiver?: ReceiverFault;
  /** Overrides CHAOS_TOOL_DELAY_MS and the caller's concurrency: slower than the load, a backlog waits in Redis. */
  backlog?: { toolDelayMs: number; callerConcurrency: number };
  /** The http-callback target's `timeoutMs` (how long the receiver may take); unset: the default. */
  writeBackTimeoutMs?: number;
  /** Any repeated write-back fails the scenario, even one the record owns (the fault gives the broker no excuse). */
  strictWriteBacks?: boolean;
  /** Where the calls come from: POST /v1/tool-calls (default), or platform events published in the Salesforce sandbox. */
  source?: 'api' | 'salesforce';
  /** Runs alongside the load; resolves when the fault is over (everything started again). */
  inject?(ctx: FaultContext): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Above the broker's delivery timeout (10 s by default, `HttpCallbackHandler`). */
const STALL_MS = 11_000;

export function scenario(name: ScenarioName, settings: ChaosSettings): Scenario {
  const outageMs = settings.outageSeconds * 1000;
  switch (name) {
    case 'baseline':
      return { name, describe: 'no fault: the yardstick', workers: 2, aof: true };
    case 'worker-kill':
      return {
        name,
        describe: `${settings.kills} worker SIGKILLs under load, a new worker started after each`,
        workers: 2,
        aof: true,
        async inject(ctx) {
          let kills = 0;
          for (let k = 1; k <= settings.kills; k++) {
            await ctx.at(k / (settings.kills + 1));
            // Every replacement still loading: wait for one, so that each kill hits a working worker.
            while (ctx.stack.workers.length === 0) await ctx.sleep(100);
            await ctx.stack.killWorker();
            kills += 1;
            ctx.log(`SIGKILL worker ${k}/${settings.kills} (${ctx.stack.workers.length} left running)`);
            ctx.stack.startWorkerInBackground();
          }
          await ctx.stack.workersStarted();
          ctx.note(`${kills} SIGKILLs`);
        },
      };
    case 'worker-kill-after-ack': {
      const kills = Math.max(2, Math.floor(settings.kills / 2));
      return {
        name,
        describe: `${kills} SIGKILLs of the only worker right after the receiver answered 200`,
        workers: 1,
        aof: true,
        async inject(ctx) {
          const every = Math.max(5, Math.floor(settings.calls / (kills + 1)));
          let processed = 0;
          let done = 0;
          let killing = false;
          const finished = new Promise<void>((resolve) => {
            ctx.stack.receiver.onProcessed = () => {
              processed += 1;
              if (killing || done >= kills || processed % every !== 0) return;
              killing = true;
              const worker = ctx.stack.workers[0];
              // A few ms: the 200 is on the wire, the worker's bookkeeping of it is not yet done.
              setTimeout(
                () => {
                  void ctx.stack
                    .killWorker(worker)
                    .then(() => {
                      done += 1;
                      ctx.log(`SIGKILL worker after ack ${done}/${kills}`);
                      return ctx.stack.startWorker();
                    })
                    .finally(() => {
                      killing = false;
                      if (done >= kills) resolve();
                    });
                },
                Math.floor(Math.random() * 15),
              );
            };
          });
          await Promise.race([finished, ctx.sleep(settings.loadSeconds * 1000 + 60_000)]);
          ctx.stack.receiver.onProcessed = undefined;
          ctx.note(`${done} SIGKILLs after 200`);
        },
      };
    }
    case 'redis-restart-aof':
    case 'redis-data-loss': {
      const keepData = name === 'redis-restart-aof';
      return {
        name,
        describe: keepData
          ? `Redis (AOF, fsync always) SIGKILLed, restarted with its data after ${settings.outageSeconds} s`
          : `Redis SIGKILLed, restarted empty after ${settings.outageSeconds} s (a failover to a lagging replica)`,
        workers: 2,
        aof: keepData,
        // 8 calls/s against 20 submitted per second: dozens of jobs wait in Redis when it goes.
        backlog: { toolDelayMs: 500, callerConcurrency: 4 },
        async inject(ctx) {
          await ctx.at(0.4);
          await ctx.stack.redis.kill();
          const down = performance.now();
          ctx.log('Redis SIGKILLed');
          await ctx.sleep(Math.min(1_000, outageMs / 2));
          // Issue 9 item 10: readiness must answer 503 at once while Redis is down, not hang.
          const ready = await ctx.stack.workerReadiness();
          ctx.log(`worker /readyz with Redis down: ${ready.status || 'no answer'} in ${ready.ms} ms ${ready.body}`);
          await ctx.sleep(Math.max(0, outageMs - (performance.now() - down)));
          await ctx.stack.redis.start({ keepData });
          const seconds = ((performance.now() - down) / 1000).toFixed(1);
          ctx.log(`${keepData ? 'Redis restarted with its AOF' : 'Redis restarted empty'} (down ${seconds} s)`);
          const readiness = `readyz ${ready.status || 'none'} in ${ready.ms} ms`;
          ctx.note(`${keepData ? `down ${seconds} s, AOF kept` : `down ${seconds} s, data lost`}, ${readiness}`);
        },
      };
    }
    case 'mcp-outage':
      return {
        name,
        describe: `MCP server SIGKILLed, started again after ${settings.outageSeconds} s`,
        workers: 2,
        aof: true,
        async inject(ctx) {
          await ctx.at(0.3);
          await ctx.stack.killMcp();
          const down = performance.now();
          ctx.log('MCP server SIGKILLed');
          await ctx.sleep(outageMs);
          await ctx.stack.startMcp();
          // Down for the outage plus the new process's start, which takes seconds on a busy machine.
          const seconds = ((performance.now() - down) / 1000).toFixed(1);
          ctx.log(`MCP server started again (down ${seconds} s)`);
          ctx.note(`down ${seconds} s`);
        },
      };
    case 'store-outage':
      return {
        name,
        describe: `store unreachable (connections refused and cut) for ${settings.outageSeconds} s`,
        workers: 2,
        aof: true,
        async inject(ctx) {
          await ctx.at(0.3);
          await ctx.stack.storeProxy.down();
          ctx.log('store unreachable');
          await ctx.sleep(outageMs);
          await ctx.stack.storeProxy.up();
          ctx.log('store reachable again');
          ctx.note(`down ${settings.outageSeconds} s`);
        },
      };
    case 'callback-fail':
      return {
        name,
        describe: 'every 3rd call: the receiver answers 503 to its first 2 deliveries',
        workers: 2,
        aof: true,
        receiver: { kind: 'fail', every: 3, times: 2 },
      };
    case 'callback-stall':
      return {
        name,
        describe: `every 10th call: the receiver takes ${STALL_MS / 1000} s (over the delivery timeout) for its first delivery`,
        workers: 2,
        aof: true,
        receiver: { kind: 'stall', every: 10, times: 1, stallMs: STALL_MS },
      };
    case 'callback-slow':
      return {
        name,
        describe: `every 10th call: the receiver takes ${STALL_MS / 1000} s for its first delivery; the target allows 15 s`,
        workers: 2,
        aof: true,
        receiver: { kind: 'stall', every: 10, times: 1, stallMs: STALL_MS },
        writeBackTimeoutMs: 15_000,
        strictWriteBacks: true,
      };
    case 'callback-throttle':
      return {
        name,
        describe: 'every 3rd call: the receiver answers 429 Retry-After: 1 to its first 2 deliveries',
        workers: 2,
        aof: true,
        receiver: { kind: 'throttle', every: 3, times: 2, retryAfterSeconds: 1 },
      };
    case 'salesforce-drop':
      return {
        name,
        describe: `platform events: the streaming connection dropped ${settings.kills} times, the subscribing worker SIGKILLed once`,
        workers: 2,
        aof: true,
        source: 'salesforce',
        async inject(ctx) {
          const sandbox = ctx.salesforce!;
          let drops = 0;
          for (let k = 1; k <= settings.kills; k++) {
            await ctx.at(k / (settings.kills + 2));
            sandbox.faults.dropStreamingClients();
            drops += 1;
            ctx.log(`streaming clients dropped ${k}/${settings.kills}`);
          }
          await ctx.at((settings.kills + 1) / (settings.kills + 2));
          // Which replica leads is the connector's business: kill the oldest; if it led, the other takes over after the lease.
          while (ctx.stack.workers.length === 0) await ctx.sleep(100);
          await ctx.stack.killWorker();
          ctx.log('SIGKILL worker');
          ctx.stack.startWorkerInBackground();
          await ctx.stack.workersStarted();
          ctx.note(`${drops} drops, 1 SIGKILL`);
        },
      };
  }
}

export { sleep };

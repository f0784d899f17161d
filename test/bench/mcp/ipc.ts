import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The side channel between the benchmark runner and its child processes (Node's IPC channel).
 * Stdout stays free for the child's own logs (the governed server logs there, as in production).
 *
 * child → parent: `{ type: 'ready', info }` once listening; `{ type: 'reply', id, result | error }`.
 * parent → child: `{ type: 'call', id, op }`; ops every child answers: `memory`, `cpu`, `eventLoop`, `stop`.
 */
export type ChildMessage =
  | { type: 'ready'; info: Record<string, unknown> }
  | { type: 'reply'; id: number; result?: unknown; error?: string };

export interface ParentCall {
  type: 'call';
  id: number;
  op: string;
}

export type ChildOps = Record<string, () => Promise<unknown>>;

/**
 * Child side: answers the parent's calls, and exits when the parent goes away (its IPC channel
 * closes when the parent exits or is killed), so no child outlives a benchmark run.
 */
export function serveParent(ops: ChildOps, stop: () => Promise<void>): void {
  if (!process.send) throw new Error('This file is a benchmark child process; start it with `npm run bench`.');
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // Never hang: the parent would SIGKILL us anyway, but exit on our own first.
    setTimeout(() => process.exit(code), 5_000).unref();
    try {
      await stop();
    } catch (err) {
      console.error(err);
    }
    // process.exit (not a natural exit) so --cpu-prof profiles are written even with open handles.
    process.exit(code);
  };
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const allOps: ChildOps = {
    /** Event-loop delay since the last call (ms): how long ready work waited for this process's one thread. */
    eventLoop: async () => {
      const result = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
      loopDelay.reset();
      return result;
    },
    memory: async () => process.memoryUsage(),
    /** CPU time this process has used so far, user + system, in microseconds. */
    cpu: async () => {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
    ...ops,
  };
  process.on('message', (raw: ParentCall) => {
    if (raw?.type !== 'call') return;
    if (raw.op === 'stop') {
      process.send?.({ type: 'reply', id: raw.id, result: true } satisfies ChildMessage);
      void shutdown(0);
      return;
    }
    const op = allOps[raw.op];
    if (!op) {
      process.send?.({ type: 'reply', id: raw.id, error: `unknown op ${raw.op}` } satisfies ChildMessage);
      return;
    }
    op().then(
      (result) => process.send?.({ type: 'reply', id: raw.id, result } satisfies ChildMessage),
      (err: unknown) =>
        process.send?.({
          type: 'reply',
          id: raw.id,
          error: err instanceof Error ? err.message : String(err),
        } satisfies ChildMessage),
    );
  });
  process.on('disconnect', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
}

/** Child side: tells the parent the child is ready. */
export function announceReady(info: Record<string, unknown>): void {
  process.send?.({ type: 'ready', info } satisfies ChildMessage);
}

/** Child side: a required environment variable. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; this child is started by test/bench/run.ts.`);
  return value;
}

/** The `drainAudit` operation of an MCP server child: waits for every audit write started so far; answers how long that took. */
export function drainAuditOp(server: { audit: { flush(): Promise<void> } }): () => Promise<number> {
  return async () => {
    const t0 = performance.now();
    await server.audit.flush();
    return performance.now() - t0;
  };
}

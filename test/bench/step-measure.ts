/**
 * One step of a per-call path measured alone (`test/bench/mcp/step-costs.ts`,
 * `test/bench/broker/step-costs.ts`): the CPU this process and one peer spend per operation.
 */
export interface StepResult {
  step: string;
  ops: number;
  /** CPU in this process per operation (main thread, GC and thread pool), µs. */
  cpuUs: number;
  /** CPU in the peer process per operation, µs; null when there is none. */
  peerCpuUs: number | null;
  peer: string | null;
  /** Wall time per operation at the given concurrency, µs (throughput view, not latency). */
  wallUs: number;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Runs `op` n times (after n/10 warm-up runs) with `parallel` in flight; `settle` waits for background work. */
export async function measureStep(
  step: string,
  n: number,
  parallel: number,
  op: (i: number) => unknown,
  peer?: { name: string; cpu: () => Promise<number | undefined> },
  settle?: () => Promise<void>,
): Promise<StepResult> {
  const run = async (count: number, offset: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(parallel, count) }, async () => {
        while (next < count) await op(offset + next++);
      }),
    );
    await settle?.();
  };
  await run(Math.ceil(n / 10), 1_000_000);
  const peer0 = await peer?.cpu();
  const cpu0 = cpuNow();
  const t0 = performance.now();
  await run(n, 0);
  const wall = performance.now() - t0;
  const cpu1 = cpuNow();
  const peer1 = await peer?.cpu();
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    step,
    ops: n,
    cpuUs: r1((cpu1 - cpu0) / n),
    peerCpuUs: peer0 === undefined || peer1 === undefined ? null : r1((peer1 - peer0) / n),
    peer: peer?.name ?? null,
    wallUs: r1((wall * 1000) / n),
  };
}

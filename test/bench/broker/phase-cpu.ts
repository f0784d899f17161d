import type { BenchChild } from '../mcp/children.ts';
import { machineBusyMicros } from '../mcp/machine-cpu.ts';
import { redisCpuMicros } from '../mcp/redis-cpu.ts';

/** CPU used so far (microseconds): `machine` (all cores), each child, `redis` and `loadGenerator` (this process). */
export type CpuSnapshot = Record<string, number | undefined>;

const r2 = (x: number) => Math.round(x * 100) / 100;

export async function cpuSnapshot(
  procs: Readonly<Record<string, BenchChild>>,
  names: readonly string[],
  redisUrl: string,
): Promise<CpuSnapshot> {
  const out: CpuSnapshot = { machine: machineBusyMicros() };
  for (const name of names) out[name] = await procs[name]!.call<number>('cpu');
  out.redis = await redisCpuMicros(redisUrl);
  const self = process.cpuUsage();
  out.loadGenerator = self.user + self.system;
  return out;
}

/**
 * A phase's CPU from two snapshots: ms per call of each process (null where unknown), the cores'
 * worth the machine was busy, and how much of that the benchmark's own processes (`children`,
 * Redis, the load generator) do not account for: other load, which makes the figures suspect
 * (above 0.1 cores a warning says so).
 */
export function phaseCpu(o: {
  start: CpuSnapshot;
  end: CpuSnapshot;
  children: readonly string[];
  calls: number;
  seconds: number;
  /** The phase's name, for the warning pushed onto `warnings` when other load makes the figures suspect. */
  tag: string;
  warnings: string[];
}): { perCall: (k: string) => number | null; busyCores: number | null; otherLoadCores: number | null } {
  const { start, end, calls, seconds } = o;
  const delta = (k: string) => (start[k] === undefined || end[k] === undefined ? undefined : end[k]! - start[k]!);
  const perCall = (k: string) => {
    const d = delta(k);
    return d === undefined || calls === 0 ? null : r2(d / 1000 / calls);
  };
  const ours = [...o.children, 'redis', 'loadGenerator'].map(delta);
  const machine = delta('machine');
  const busyCores = machine === undefined ? null : r2(machine / 1e6 / seconds);
  const otherLoadCores =
    machine === undefined || ours.some((v) => v === undefined)
      ? null
      : r2(Math.max(0, machine - ours.reduce((a, b) => a! + b!, 0)!) / 1e6 / seconds);
  if (otherLoadCores !== null && otherLoadCores > 0.1) {
    o.warnings.push(`${o.tag}: other processes used ${otherLoadCores} cores during the phase; figures are suspect`);
  }
  return { perCall, busyCores, otherLoadCores };
}

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * CPU time the whole machine has spent busy so far (all cores, microseconds), from /proc/stat;
 * undefined where there is no /proc (the figure is informative only). Compared with the CPU the
 * benchmark's own processes used, it shows whether something else was running during a window.
 */
export function machineBusyMicros(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy is everything but idle and iowait.
    const busyTicks = cpu.reduce((sum, v, i) => (i === 3 || i === 4 || i > 7 ? sum : sum + v), 0);
    return (busyTicks * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** The machine a benchmark's figures were measured on, as its report records it. */
export interface BenchMachine {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
}

export function benchMachine(): BenchMachine {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

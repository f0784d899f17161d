import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchMachine } from '../mcp/machine-cpu.ts';
import type { Percentiles } from './load.ts';
import {
  type BrokerBenchSettings,
  type BrokerPathName,
  type ChildName,
  MIN_CALLS_FOR_FLATNESS,
  type PathName,
} from './settings.ts';

export interface WorkerCheckpoint {
  path: BrokerPathName;
  round: number;
  /** Share of the phase's calls completed when the sample was taken. */
  percent: number;
  calls: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** V8 heap in use right after a full collection (live objects only). */
  heapAfterGcMiB: number | null;
}

export interface PhaseResult {
  path: PathName;
  round: number;
  /** Calls that completed successfully. */
  calls: number;
  errors: number;
  /** Up to five distinct error descriptions with their counts. */
  errorSamples: Record<string, number>;
  /** Calls never started because the phase hit BENCH_BROKER_MAX_PHASE_SECONDS. */
  notStarted: number;
  seconds: number;
  /** Successful calls / wall time (first start to last completion). */
  callsPerSecond: number;
  /**
   * Start of the call to its completion as the caller sees it: the tool result for direct calls;
   * for broker calls, submission to callback arrival (or to the long poll's final answer).
   */
  latencyMs: Percentiles;
  broker?: {
    /** Submission to the 202. */
    acceptMs: Percentiles;
    /** Submission to the record's `completedAt` (the worker's clock, ms resolution; before the write-back). */
    recordCompletionMs: Percentiles | null;
    /** Completion − submission − the tool's own time; the echo handler's own time is ~0, so = latencyMs. */
    addedLatencyMs: { p50: number; p99: number };
  };
  /**
   * Round trips per successful call: requests the embedded Cosmos server served, by HTTP method (GET
   * read, PUT replace, POST create or query), and Redis commands processed
   * (INFO commandstats; a Lua script counts once, plus the commands it runs; includes anything else
   * using the same Redis meanwhile).
   */
  roundTripsPerCall: {
    cosmos: Record<string, number> | null;
    redisCommands: number | null;
    /** The most frequent Redis commands per call (evalsha: BullMQ's Lua scripts). */
    redisByCommand: Record<string, number>;
  };
  /**
   * CPU milliseconds per successful call, by process (loadGenerator: the runner's own process, with
   * the OAuth server and the callback receiver).
   */
  cpuMsPerCall: Record<ChildName | 'redis' | 'loadGenerator', number | null>;
  /** Cores' worth of CPU the whole machine used in the window. */
  busyCores: number | null;
  /** Cores' worth of CPU used in the window by processes outside the benchmark; above ~0.1 the figures are suspect. */
  otherLoadCores: number | null;
  /** Worst event-loop delay in the window (ms), per child. */
  eventLoopMaxMs: Record<ChildName, number>;
  workerRssMiB: { start: number; max: number; end: number };
  /** Broker phases: worker memory at 10 %, 50 % and 100 % of the phase's calls. */
  checkpoints?: WorkerCheckpoint[];
}

export interface PathSummary {
  best: { callsPerSecond: number; p50: number; p99: number };
  median: { callsPerSecond: number; p50: number; p99: number };
  errors: number;
}

export interface BrokerBenchReport {
  benchmark: 'broker';
  startedAt: string;
  machine: BenchMachine;
  settings: Omit<BrokerBenchSettings, 'redisUrl'>;
  tool: string;
  phases: PhaseResult[];
  paths: Partial<Record<PathName, PathSummary>>;
  ratio: {
    target: number;
    /** `broker` (the documented configuration) when it ran, else `broker-light-auth`. */
    headlinePath: BrokerPathName;
    /** headline path / direct-pooled calls/s, best phase of each. */
    best: number;
    /** headline path / direct-pooled calls/s, median phases. */
    median: number;
    meetsTarget: boolean;
    /** Every broker path / direct-pooled. */
    byPath: Partial<Record<BrokerPathName, { best: number; median: number }>>;
    /** direct-pooled / direct-per-call calls/s (medians): what the pool buys; null if per-call did not run. */
    poolOverPerCall: number | null;
  };
  /** Broker path latency minus direct-pooled latency (medians of phases): the time the broker adds to a direct call. */
  brokerMinusDirectMs: Partial<Record<BrokerPathName, { p50: number; p99: number }>>;
  memory: {
    worker: {
      checkpoints: WorkerCheckpoint[];
      /** Flatness over the broker phase with the most calls (the long run's only one). */
      flatness: {
        path: BrokerPathName;
        round: number;
        calls: number;
        /** RSS growth from its 10 % to its 100 % checkpoint, as a fraction. */
        rssGrowth: number | null;
        heapAfterGcGrowth: number | null;
        /** Growth within BENCH_BROKER_RSS_GROWTH_LIMIT; null below MIN_CALLS_FOR_FLATNESS calls (too short to judge). */
        flat: boolean | null;
      } | null;
      /** One sample a second: seconds since start, phase, worker RSS MiB, measured calls completed that second. */
      series: { t: number; phase: string; rssMiB: number; calls: number }[];
    };
    redis: { usedMemoryMiB: { before: number; afterBroker: number; afterCleanup: number }; keysLeft: number };
    /** RSS of each child at the end of the run. */
    endRssMiB: Record<ChildName, number>;
  };
  verification: {
    /** Broker submissions answered 202 (probes and warm-ups included); each must end as one `succeeded` record. */
    brokerCallsSubmitted: number;
    records: Record<string, number>;
    callbacks: { received: number; duplicates: number; badSignatures: number; timedOut: number };
    workerPool: Record<string, number>;
    auditDrainMs: number;
  };
  profiles: Partial<Record<ChildName, { file: string; busyMs: number; byPackage: [string, number][] }>>;
  ok: boolean;
  problems: string[];
  warnings: string[];
  logDir: string;
}

/** A text table of a header row and data rows: the first two columns (path, round) left-aligned, the rest right-aligned. */
export function formatTable(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

/** A phase row's leading cells: path, round, calls counted, calls/s, p50 and p99 ms, errors. */
export function phaseCells(
  p: { path: string; round: number; callsPerSecond: number; latencyMs: Percentiles; errors: number },
  calls: number,
): string[] {
  return [
    p.path,
    String(p.round),
    String(calls),
    p.callsPerSecond.toFixed(0),
    p.latencyMs.p50.toFixed(1),
    p.latencyMs.p99.toFixed(1),
    String(p.errors),
  ];
}

/** CPU ms per call of several processes as one cell, `?` where unknown. */
export function cpuCell(values: readonly (number | null)[]): string {
  return values.map((x) => (x === null ? '?' : x.toFixed(2))).join(' | ');
}

export function formatBrokerReport(report: BrokerBenchReport): string {
  const rows: string[][] = [
    [
      'path',
      'round',
      'calls',
      'calls/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'CPU ms/call worker|ingress|mcp|cosmos|redis|load',
      'per call: Cosmos reqs|Redis cmds',
    ],
  ];
  for (const p of report.phases) {
    const c = p.cpuMsPerCall;
    rows.push([
      ...phaseCells(p, p.calls),
      cpuCell([c.worker, c.ingress, c.mcp, c.cosmos, c.redis, c.loadGenerator]),
      `${p.roundTripsPerCall.cosmos?.total?.toFixed(1) ?? '?'} | ${p.roundTripsPerCall.redisCommands?.toFixed(1) ?? '?'}`,
    ]);
  }
  const out = [...formatTable(rows), ''];
  const { ratio } = report;
  for (const [path, s] of Object.entries(report.paths)) {
    out.push(
      `${path.padEnd(17)} median ${s.median.callsPerSecond.toFixed(0)} calls/s, p50 ${s.median.p50} ms, ` +
        `p99 ${s.median.p99} ms (best ${s.best.callsPerSecond.toFixed(0)} calls/s), errors ${s.errors}`,
    );
  }
  const until = report.settings.completion === 'callback' ? 'callback arrival' : 'final long-poll answer';
  for (const p of report.phases) {
    if (!p.broker) continue;
    out.push(
      `${p.path} r${p.round} added latency (submission → ${until}; tool time ≈ 0): p50 ${p.broker.addedLatencyMs.p50} ms, ` +
        `p99 ${p.broker.addedLatencyMs.p99} ms; 202 after p50 ${p.broker.acceptMs.p50} ms; ` +
        `record completed after p50 ${p.broker.recordCompletionMs?.p50 ?? '?'} ms`,
    );
  }
  for (const [path, d] of Object.entries(report.brokerMinusDirectMs)) {
    out.push(`${path} − direct-pooled latency (medians): p50 +${d.p50} ms, p99 +${d.p99} ms`);
  }
  for (const [path, r] of Object.entries(ratio.byPath)) {
    out.push(
      `${path}/direct-pooled throughput: ${r.best.toFixed(2)} (best phases), ${r.median.toFixed(2)} (medians)` +
        (path === ratio.headlinePath ? `; target ${ratio.target}: ${ratio.meetsTarget ? 'MET' : 'NOT MET'}` : ''),
    );
  }
  if (ratio.poolOverPerCall !== null) {
    out.push(`direct-pooled/direct-per-call throughput: ${ratio.poolOverPerCall.toFixed(2)} (what the pool buys)`);
  }
  out.push(...cpuCeilingLines(report.phases));
  const w = report.memory.worker;
  for (const path of new Set(w.checkpoints.map((c) => `${c.path} r${c.round}`))) {
    const mine = w.checkpoints.filter((c) => `${c.path} r${c.round}` === path);
    out.push(
      `worker memory, ${path}: ${mine
        .map((c) => `${c.percent}% (${c.calls}) RSS ${c.rssMiB} MiB, heap after GC ${c.heapAfterGcMiB ?? '?'} MiB`)
        .join('; ')}`,
    );
  }
  const fl = w.flatness;
  if (fl) {
    const pct = (x: number | null) => (x === null ? '?' : `${(x * 100).toFixed(1)} %`);
    out.push(
      `worker RSS growth 10%→100% over ${fl.calls} calls (${fl.path} r${fl.round}): ${pct(fl.rssGrowth)} ` +
        `(heap after GC ${pct(fl.heapAfterGcGrowth)}); flat (≤ ${(report.settings.rssGrowthLimit * 100).toFixed(0)} %): ` +
        (fl.flat === null
          ? `no verdict below ${MIN_CALLS_FOR_FLATNESS} calls (BENCH_BROKER_CALLS=100000 runs the memory check)`
          : fl.flat
            ? 'yes'
            : 'NO'),
    );
  }
  const rm = report.memory.redis.usedMemoryMiB;
  out.push(
    `Redis used_memory: ${rm.before} MiB before, ${rm.afterBroker} MiB after the broker phases, ${rm.afterCleanup} MiB ` +
      `after cleanup (${report.memory.redis.keysLeft} keys left)`,
  );
  out.push(
    `end RSS MiB: ${Object.entries(report.memory.endRssMiB)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const v = report.verification;
  out.push(
    `records: ${JSON.stringify(v.records)} for ${v.brokerCallsSubmitted} broker calls; callbacks ${v.callbacks.received} ` +
      `(duplicates ${v.callbacks.duplicates}, bad signatures ${v.callbacks.badSignatures}, timed out ${v.callbacks.timedOut}); ` +
      `worker pool: ${v.workerPool.created} sessions created, ${v.workerPool.reused} reuses`,
  );
  for (const [name, p] of Object.entries(report.profiles)) {
    out.push(
      `profile ${name} (${(p.busyMs / 1000).toFixed(1)} s busy): ${p.byPackage
        .slice(0, 8)
        .map(([k, share]) => `${k} ${share}%`)
        .join(', ')}`,
    );
  }
  out.push(report.ok ? 'run: OK (no errors)' : `run: HAD PROBLEMS\n  - ${report.problems.join('\n  - ')}`);
  if (report.warnings.length > 0) out.push(`warnings:\n  - ${report.warnings.join('\n  - ')}`);
  return out.join('\n');
}

export async function writeBrokerReport(report: BrokerBenchReport, file: string): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * When every process shares the machine's cores, throughput follows total CPU per call, so the
 * CPU ratio bounds the throughput ratio; and since the direct path's processes are part of the
 * broker's, even a worker that cost nothing leaves a ceiling. Per round, from the phases' own CPU.
 */
function cpuCeilingLines(phases: readonly PhaseResult[]): string[] {
  const total = (p: PhaseResult) =>
    Object.values(p.cpuMsPerCall).reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0);
  const lines: string[] = [];
  for (const broker of phases.filter((p) => p.path === 'broker')) {
    const direct = phases.find((p) => p.path === 'direct-pooled' && p.round === broker.round);
    const worker = broker.cpuMsPerCall.worker;
    if (!direct || typeof worker !== 'number') continue;
    const d = total(direct);
    const b = total(broker);
    lines.push(
      `CPU per call r${broker.round}: direct-pooled ${d.toFixed(2)} ms, broker ${b.toFixed(2)} ms (worker ${worker.toFixed(2)}), ` +
        `${(b / d).toFixed(1)}× (issue 14's target: ≤ 2×); ` +
        `on shared cores the ratio is bounded near ${(d / b).toFixed(2)}, and by ${(d / (b - worker)).toFixed(2)} even with a free worker`,
    );
  }
  return lines;
}

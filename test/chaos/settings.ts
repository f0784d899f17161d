import { envNumber } from '../bench/env-number.ts';

/** The scenarios, in the order they run by default. */
export const SCENARIOS = [
  'baseline',
  'worker-kill',
  'worker-kill-after-ack',
  'redis-restart-aof',
  'redis-data-loss',
  'mcp-outage',
  'store-outage',
  'callback-fail',
  'callback-stall',
  'callback-slow',
  'callback-throttle',
  'salesforce-drop',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ChaosSettings {
  /** CHAOS_SCENARIOS: comma list (default: all). */
  scenarios: ScenarioName[];
  /** CHAOS_CALLS: calls submitted per scenario [200]. */
  calls: number;
  /** CHAOS_KILLS: worker SIGKILLs in the worker-kill scenario [4]; half as many (at least 2) after an ack. */
  kills: number;
  /** CHAOS_LOAD_SECONDS: the submissions are spread over this long; faults land inside it [10]. */
  loadSeconds: number;
  /** CHAOS_OUTAGE_SECONDS: how long Redis, the MCP server or the store stays down [4]. */
  outageSeconds: number;
  /** CHAOS_SETTLE_SECONDS: after the load, how long every accepted call has to reach its write-back [90]. */
  settleSeconds: number;
  /** CHAOS_QUIET_SECONDS: then how long the receiver keeps listening for late duplicates [12]. */
  quietSeconds: number;
  /** CHAOS_CONCURRENCY: submissions in flight, and the caller's concurrency limit [16]. */
  concurrency: number;
  /** CHAOS_TOOL_DELAY_MS: how long each tool invocation takes [50]. */
  toolDelayMs: number;
  /** CHAOS_WORKER_ENV: extra worker settings, `K=V,K=V`. */
  workerEnv: Record<string, string>;
  /** CHAOS_LOG_LEVEL: the children's log level [warn]; logs stay in the run's directory. */
  logLevel: string;
}

export function chaosSettingsFromEnv(env: NodeJS.ProcessEnv): ChaosSettings {
  const num = (name: string, fallback: number, min: number) => envNumber(env, name, fallback, min);
  const names = (env.CHAOS_SCENARIOS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(SCENARIOS as readonly string[]).includes(n)) {
      throw new Error(`CHAOS_SCENARIOS: unknown "${n}"; known: ${SCENARIOS.join(', ')}`);
    }
  }
  const workerEnv: Record<string, string> = {};
  for (const pair of (env.CHAOS_WORKER_ENV ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`CHAOS_WORKER_ENV: "${pair}" is not K=V`);
    workerEnv[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return {
    scenarios: names.length ? SCENARIOS.filter((s) => names.includes(s)) : [...SCENARIOS],
    calls: Math.round(num('CHAOS_CALLS', 200, 1)),
    kills: Math.round(num('CHAOS_KILLS', 4, 1)),
    loadSeconds: num('CHAOS_LOAD_SECONDS', 10, 1),
    outageSeconds: num('CHAOS_OUTAGE_SECONDS', 4, 0.5),
    settleSeconds: num('CHAOS_SETTLE_SECONDS', 90, 5),
    quietSeconds: num('CHAOS_QUIET_SECONDS', 12, 0),
    concurrency: Math.round(num('CHAOS_CONCURRENCY', 16, 1)),
    toolDelayMs: Math.round(num('CHAOS_TOOL_DELAY_MS', 50, 0)),
    workerEnv,
    logLevel: env.CHAOS_LOG_LEVEL ?? 'warn',
  };
}

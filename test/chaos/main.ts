/**
 * `npm run test:chaos`: the broker on real processes under faults (see docs/reliability.md).
 * Each scenario starts its own stack (store, MCP server, ingress, workers, a redis-server of its
 * own on a free port), submits CHAOS_CALLS calls with http-callback write-backs, injects its
 * fault under that load, waits for the write-backs, and counts per call: accepted, final, lost,
 * duplicate tool invocations (allowed: at-least-once) and duplicate write-backs (must be 0).
 * Knobs: see settings.ts (CHAOS_SCENARIOS, CHAOS_CALLS, CHAOS_KILLS, CHAOS_LOAD_SECONDS, …).
 * Exit code 0 when no scenario lost a call or delivered a write-back more often than its record
 * admits (CHAOS_STRICT_WRITE_BACKS=1: more than once at all); 1 otherwise; 130 when stopped.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllRedis } from '@mcp-broker/redis-process';
import { killAllChildren } from '../bench/mcp/children.ts';
import { formatTable, problemsOf } from './report.ts';
import { runScenario, type ScenarioResult } from './run-scenario.ts';
import { scenario } from './scenarios.ts';
import { chaosSettingsFromEnv } from './settings.ts';

const cleanup = () => {
  killAllChildren();
  killAllRedis();
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the chaos run`);
    cleanup();
    process.exit(130);
  });
}

const settings = chaosSettingsFromEnv(process.env);
const strict = process.env.CHAOS_STRICT_WRITE_BACKS === '1';
const root = await mkdtemp(join(tmpdir(), 'mcpb-chaos-'));
const t0 = performance.now();
console.log(
  `[chaos] ${settings.scenarios.length} scenarios × ${settings.calls} calls over ${settings.loadSeconds} s; logs under ${root}`,
);
const results: ScenarioResult[] = [];
for (const name of settings.scenarios) {
  const s = scenario(name, settings);
  const log = (line: string) =>
    console.log(`[chaos ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${name}: ${line}`);
  log(s.describe);
  let result: ScenarioResult;
  try {
    result = await runScenario(s, settings, root, log);
  } catch (err) {
    result = {
      name,
      describe: s.describe,
      faults: '–',
      submitted: 0,
      accepted: 0,
      notAccepted: 0,
      succeeded: 0,
      failed: 0,
      lost: 0,
      notFinal: 0,
      noWriteBack: 0,
      duplicateInvocations: 0,
      extraInvocations: 0,
      duplicateWriteBacks: 0,
      unrecordedDuplicates: 0,
      retriedAnswers: {},
      seconds: 0,
      details: [],
      error: err instanceof Error ? err.message : String(err),
    };
  }
  results.push(result);
  const problems = problemsOf(result, strict);
  log(problems.length ? `FAIL: ${problems.join('; ')}` : 'pass');
  for (const d of result.details) log(`  ${d}`);
}

const failed = results.filter((r) => problemsOf(r, strict).length > 0);
const out = join(root, 'chaos-results.json');
await writeFile(out, JSON.stringify({ settings, results }, null, 2));
console.log(`\n${formatTable(results, strict)}\n`);
for (const r of failed) console.log(`FAIL ${r.name}: ${problemsOf(r, strict).join('; ')}`);
console.log(`results: ${out}`);
if (failed.length === 0 && !process.env.CHAOS_KEEP_LOGS) {
  for (const dir of (await readdir(root)).filter((d) => d.startsWith('stack-'))) {
    await rm(join(root, dir), { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  }
  console.log('(process logs removed after a clean run; CHAOS_KEEP_LOGS=1 keeps them)');
}
console.log(
  `${results.length - failed.length} passed, ${failed.length} failed in ${Math.round((performance.now() - t0) / 1000)} s`,
);
process.exitCode = failed.length ? 1 : 0;

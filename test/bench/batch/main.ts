/**
 * `node test/bench/batch/main.ts`: the scheduled batch enrichment benchmark (docs/batch-enrichment.md).
 * N Accounts in the Salesforce sandbox, selected by SOQL and enriched through the governed MCP
 * server by a schedule run (started through `POST /v1/schedules/{id}/runs`) in a worker child
 * process, written back with SObject Collections; against the same N calls made directly with the
 * broker's pooled MCP clients at the schedule's concurrency, in the same run on the same stack.
 * Reports records per second on both paths and their ratio, the worker's peak RSS (VmHWM) on a
 * run of 1,000 records and on one of N (each in a fresh worker process), and the start delay
 * (startedAt − createdAt) of interactive calls submitted one after another while the N-record run goes on,
 * and each worker's heap after a full GC once its run is over (read through the child's inspector).
 * Knobs (env), defaults in brackets:
 *   BENCH_BATCH_RECORDS [10000], BENCH_BATCH_SMALL [1000], BENCH_BATCH_CONCURRENCY [3, below the caller's 4],
 *   BENCH_BATCH_INTERACTIVE_GAP_MS [250], BENCH_BATCH_TIMEOUT_S [1800],
 *   BENCH_BATCH_TOOL_DELAY_MS [0: the trivial tool; 20–50 stands for a real tool's own latency, on both paths],
 *   BENCH_BATCH_CPU_PROF [unset; a directory: each worker child runs under node --cpu-prof and writes its profile there],
 *   BENCH_BATCH_HEAP_SNAPSHOT [unset; a directory: each worker's heap snapshot after its run, after the full GC],
 *   BENCH_BATCH_OUT [test/bench/results/batch-latest.json], REDIS_URL [redis://127.0.0.1:6379].
 * The report also splits a record's cycle in the N-record run from its call's record (createdAt,
 * startedAt, completedAt): queue wait, in the worker, and the gap from a call's outcome to the
 * next call's creation (the outcome write, the job's completion, the run hearing of it, the next accept).
 * Exit code 0 when both runs succeeded with every record called once and written back, 1 otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type BatchRunView, batchRunViewSchema } from '@mcp-broker/contracts';
import { callTool, createTokenProvider, McpClientPool } from '@mcp-broker/mcp-client';
import { startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { Redis } from 'ioredis';
import { enrichment, enrichTool } from '../../support/batch-test-tools.ts';
import { startBrokerStack } from '../../support/broker-stack.ts';
import { percentiles } from '../broker/load.ts';
import { envNumber } from '../env-number.ts';
import { freePort, type HeapAfterGc, heapAfterFullGc } from '../inspector-heap.ts';

const records = envNumber(process.env, 'BENCH_BATCH_RECORDS', 10_000, 1);
const small = Math.min(records, envNumber(process.env, 'BENCH_BATCH_SMALL', 1000, 1));
const concurrency = envNumber(process.env, 'BENCH_BATCH_CONCURRENCY', 3, 1);
const gapMs = envNumber(process.env, 'BENCH_BATCH_INTERACTIVE_GAP_MS', 250, 0);
const timeoutMs = envNumber(process.env, 'BENCH_BATCH_TIMEOUT_S', 1800, 1) * 1000;
const toolDelayMs = envNumber(process.env, 'BENCH_BATCH_TOOL_DELAY_MS', 0, 0);
const cpuProfDir = process.env.BENCH_BATCH_CPU_PROF;
const heapSnapshotDir = process.env.BENCH_BATCH_HEAP_SNAPSHOT;
const out = process.env.BENCH_BATCH_OUT ?? 'test/bench/results/batch-latest.json';
const r2 = (n: number) => Math.round(n * 100) / 100;
const loadAtStart = loadavg().map(r2);

const sandbox = await startSalesforceSandbox({
  objects: {
    Account: {
      fields: {
        Name: { length: 255, required: true, label: 'Account Name' },
        Industry: { type: 'picklist', length: 255 },
        Description: { type: 'textarea', length: 32000 },
        Score__c: { type: 'int' },
      },
    },
  },
});
const schedule = (id: string, maxRecords: number) => ({
  id,
  cron: '0 0 1 1 *',
  caller: 'caller-a',
  source: { type: 'salesforce-soql', org: 'org-a', query: "SELECT Id, Name FROM Account WHERE Industry = 'Bench'" },
  tool: 'test_enrich',
  arguments:
    toolDelayMs > 0
      ? `{ "account_id": Id, "name": Name, "delay_ms": ${toolDelayMs} }`
      : '{ "account_id": Id, "name": Name }',
  writeBack: {
    type: 'salesforce-record',
    org: 'org-a',
    sobject: 'Account',
    fields: { Score__c: 'structuredContent.score', Description: 'structuredContent.action' },
  },
  concurrency,
  // The caller's own rate (broker-stack: 10,000 a minute): the window, not the pacer, is what paces.
  callsPerMinute: 10_000,
  maxRecords,
  pageSize: 2000,
});
const stack = await startBrokerStack({
  tools: [enrichTool],
  callbackHost: '127.0.0.1',
  roles: ['Test.Echo'],
  inProcessWorker: false,
  workerEnv: { SALESFORCE_EVENTS: 'false' },
  salesforce: {
    loginUrl: sandbox.loginUrl,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
    apiVersion: sandbox.apiVersion,
  },
  schedules: [schedule('bench-small', small), schedule('bench-large', records)],
});
const configPath = join(await mkdtemp(join(tmpdir(), 'mcpb-bench-batch-')), 'broker.json');
await writeFile(configPath, JSON.stringify(stack.broker));
for (let i = 0; i < records; i++)
  sandbox.insertRecord('Account', { Name: `Bench ${String(i).padStart(6, '0')}`, Industry: 'Bench' });

const workers: ChildProcess[] = [];
/** The inspector port of the worker child started last (its heap after a full GC is read through it). */
let inspectPort = 0;
async function startWorkerProcess(): Promise<ChildProcess> {
  const prof = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  inspectPort = await freePort();
  const child = spawn(
    process.execPath,
    [...prof, `--inspect=127.0.0.1:${inspectPort}`, 'services/worker/src/main.ts'],
    {
      cwd: join(import.meta.dirname, '../../..'),
      env: { ...process.env, ...stack.childWorkerEnv(configPath), LOG_LEVEL: 'error' },
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  // The inspector announces itself on stderr; everything else is passed through.
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk
      .toString()
      .split('\n')
      .filter(
        (line) =>
          !/^(Debugger (listening|ending) on|For help, see: |Waiting for the debugger|Debugger attached)/.test(line),
      )
      .join('\n');
    if (text.trim()) process.stderr.write(`${text}\n`);
  });
  workers.push(child);
  return child;
}
async function stopWorker(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
/** The process's peak resident set so far (VmHWM), in MiB. */
async function peakRssMiB(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return r2(kib / 1024);
}

async function startRun(id: string): Promise<string> {
  const res = await fetch(`${stack.ingressUrl}/v1/schedules/${id}/runs`, {
    method: 'POST',
    headers: { authorization: stack.auth('caller-a'), 'idempotency-key': randomUUID() },
  });
  if (res.status !== 202) throw new Error(`starting ${id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
async function runView(id: string): Promise<BatchRunView> {
  const res = await fetch(`${stack.ingressUrl}/v1/batch-runs/${id}`, {
    headers: { authorization: stack.auth('caller-a') },
  });
  return batchRunViewSchema.parse(await res.json());
}
const isFinal = (v: BatchRunView) => ['succeeded', 'failed', 'cancelled', 'skipped'].includes(v.status);
/** Polls the run until it is final; `during` runs instead of the pause while the run is running. */
async function runEnds(id: string, during?: () => Promise<void>): Promise<BatchRunView> {
  const deadline = Date.now() + timeoutMs;
  let view = await runView(id);
  while (!isFinal(view) && Date.now() < deadline) {
    // Not before the run has started: a call made while the fresh worker still starts measures its start.
    await (during && view.status === 'running' ? during() : new Promise((r) => setTimeout(r, 250)));
    view = await runView(id);
  }
  return view;
}

/** One interactive call through the API; its start delay (startedAt − createdAt) in ms. */
async function interactiveDelay(): Promise<number | undefined> {
  const res = await fetch(`${stack.ingressUrl}/v1/tool-calls`, {
    method: 'POST',
    headers: {
      authorization: stack.auth('caller-a'),
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ tool: 'test_enrich', arguments: { account_id: 'interactive', name: 'Interactive call' } }),
  });
  const { id } = (await res.json()) as { id: string };
  const done = await fetch(`${stack.ingressUrl}/v1/tool-calls/${id}?wait=30`, {
    headers: { authorization: stack.auth('caller-a') },
  });
  const call = (await done.json()) as { createdAt?: string; startedAt?: string };
  if (!call.createdAt || !call.startedAt) return undefined;
  return Date.parse(call.startedAt) - Date.parse(call.createdAt);
}

const summary = (v: BatchRunView, peak: number, heap: HeapAfterGc) => ({
  status: v.status,
  counts: v.counts,
  durationMs: v.durationMs ?? null,
  recordsPerSecond: v.durationMs ? r2((v.counts.selected / v.durationMs) * 1000) : null,
  peakWorkerRssMiB: peak,
  // What the worker still holds once the run is over: grows with N only if something keeps per-record state.
  workerHeapAfterGc: heap,
  errorsByCode: v.errorsByCode,
});

// Run 1: the small run, in a fresh worker.
let worker = await startWorkerProcess();
const smallView = await runEnds(await startRun('bench-small'));
const smallPeak = await peakRssMiB(worker.pid);
const smallHeap = await heapAfterFullGc(
  inspectPort,
  heapSnapshotDir && join(heapSnapshotDir, `worker-${small}.heapsnapshot`),
);
await stopWorker(worker);

// Run 2: N records in a fresh worker, interactive calls one after another while it goes on.
worker = await startWorkerProcess();
const delays: number[] = [];
const largeView = await runEnds(await startRun('bench-large'), async () => {
  const delay = await interactiveDelay();
  if (delay !== undefined) delays.push(delay);
  await new Promise((r) => setTimeout(r, gapMs));
});
const largePeak = await peakRssMiB(worker.pid);
const largeHeap = await heapAfterFullGc(
  inspectPort,
  heapSnapshotDir && join(heapSnapshotDir, `worker-${records}.heapsnapshot`),
);
await stopWorker(worker);

/**
 * Where a record's cycle went in a run, from its calls' records (createdAt, startedAt,
 * completedAt) and the caller's queue event stream (when each job was added, taken by a worker and
 * completed; Redis's clock, the same machine's): accept (createdAt → added: the record's create,
 * the enqueue), queue wait (added → active), in the worker (active → completedAt: the running
 * write, the MCP call with the tool's own time), the outcome (completedAt → completed: the outcome
 * write, the job's completion), and the run's turn (a call's completion → creation of the call
 * that took its slot: the window hearing of it, mapping, pacing, the idempotency lock).
 */
async function cycleOf(runId: string) {
  const { resources } = await stack.store
    .container('toolCalls')
    .items.query<{ id: string; createdAt: string; startedAt?: string; completedAt?: string }>(
      {
        query:
          "SELECT c.id, c.createdAt, c.startedAt, c.completedAt FROM c WHERE c.source.kind = 'batch' AND c.source.reference = @run",
        parameters: [{ name: '@run', value: runId }],
      },
      { partitionKey: 'caller-a' },
    )
    .fetchAll();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const stream = await redis.xrange(`${stack.prefix.replace(/:+$/, '')}:tool-calls.caller-a:events`, '-', '+');
  redis.disconnect();
  const events = new Map<string, Record<string, number>>();
  for (const [id, fields] of stream) {
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    if (!f.jobId || !f.event) continue;
    const at = Number(id.split('-')[0]);
    const job = events.get(f.jobId) ?? {};
    job[f.event] ??= at;
    events.set(f.jobId, job);
  }
  const at = (r: (typeof resources)[number]) => ({
    created: Date.parse(r.createdAt),
    started: r.startedAt ? Date.parse(r.startedAt) : Number.NaN,
    outcome: r.completedAt ? Date.parse(r.completedAt) : Number.NaN,
    added: events.get(r.id)?.added ?? Number.NaN,
    active: events.get(r.id)?.active ?? Number.NaN,
    completed: events.get(r.id)?.completed ?? Number.NaN,
  });
  const calls = resources.map(at);
  const spans = (f: (c: ReturnType<typeof at>) => number) =>
    percentiles(calls.map(f).filter((v) => Number.isFinite(v)));
  const created = calls.map((c) => c.created).sort((a, b) => a - b);
  const completed = calls
    .map((c) => c.completed)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return {
    calls: resources.length,
    withEvents: calls.filter((c) => Number.isFinite(c.completed)).length,
    acceptMs: spans((c) => c.added - c.created),
    queueWaitMs: spans((c) => c.active - c.added),
    inWorkerMs: spans((c) => c.outcome - c.active),
    outcomeMs: spans((c) => c.completed - c.outcome),
    // Paired by slot order, so only when every call's completion is still in the stream (BullMQ
    // trims it to about 10,000 events: a run above ~2,000 calls loses its first ones).
    runTurnMs:
      completed.length < created.length
        ? null
        : percentiles(
            created.slice(concurrency).flatMap((t, i) => (completed[i] === undefined ? [] : [t - completed[i]])),
          ),
  };
}
const largeCycle = await cycleOf(largeView.id);

// The same N calls directly, with the broker's pooled MCP clients at the schedule's concurrency.
const tokens = createTokenProvider(
  {
    type: 'client-credentials',
    tokenUrl: stack.oauth.tokenEndpoint,
    clientId: 'broker-for-a',
    clientSecret: { fromEnv: 'E2E_SECRET_A' },
    scope: 'Test.Echo',
  },
  { env: stack.env },
);
const pool = new McpClientPool({
  env: {},
  maxPerKey: concurrency,
  resolve: () => ({
    endpoint: {
      url: `${stack.mcpUrl}/mcp`,
      transport: 'streamable-http',
      callTimeoutMs: 60_000,
      connectTimeoutMs: 10_000,
    },
    tokenProvider: tokens,
  }),
});
let directErrors = 0;
let next = 0;
const directStart = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < records) {
      const i = next++;
      try {
        await callTool({
          pool,
          key: { caller: 'caller-a', endpoint: 'local' },
          tool: 'test_enrich',
          arguments: {
            account_id: `direct-${i}`,
            name: `Bench ${String(i).padStart(6, '0')}`,
            ...(toolDelayMs > 0 ? { delay_ms: toolDelayMs } : {}),
          },
        });
      } catch {
        directErrors++;
      }
    }
  }),
);
const directSeconds = (performance.now() - directStart) / 1000;
await pool.close();

const repeated = [...enrichment.invocations.entries()].filter(
  ([k, n]) => !k.startsWith('direct-') && k !== 'interactive' && n > 2,
).length;
const large = summary(largeView, largePeak, largeHeap);
const directPerSecond = r2(records / directSeconds);
const report = {
  records,
  small,
  concurrency,
  toolDelayMs,
  loadAverageAtStart: loadAtStart,
  loadAverageAtEnd: loadavg().map(r2),
  cores: (await import('node:os')).availableParallelism(),
  smallRun: summary(smallView, smallPeak, smallHeap),
  largeRun: large,
  direct: { calls: records, errors: directErrors, seconds: r2(directSeconds), recordsPerSecond: directPerSecond },
  batchOverDirect: large.recordsPerSecond ? r2(large.recordsPerSecond / directPerSecond) : null,
  interactiveStartDelayMs: { calls: delays.length, ...percentiles(delays) },
  largeRunCycle: largeCycle,
  // Each record is in both runs, so a record invoked more than twice was called again by a run.
  recordsCalledAgain: repeated,
};
const done = (v: BatchRunView, n: number) =>
  v.status === 'succeeded' && v.counts.selected === n && v.counts.succeeded === n && v.counts.writtenBack === n;
const ok = done(smallView, small) && done(largeView, records) && directErrors === 0 && repeated === 0;
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ ...report, ok, at: new Date().toISOString() }, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
console.log(ok ? 'ok: both runs called and wrote back every record once' : 'NOT ok: see the counts above');
for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
await stack.close();
await sandbox.close();
process.exit(ok ? 0 : 1);

/**
 * What the broker's per-call steps cost on their own, outside the end-to-end run: each step many
 * times against the same kind of peers as `bench:broker` (the embedded Cosmos-compatible server and
 * an HTTP receiver, each in its own process), CPU microseconds per operation in this process and in
 * the peer. On a 2-core machine whose cores every process of the end-to-end run shares, these
 * figures add up where the end-to-end ones blur (see docs/benchmarks.md, "Where the broker's time
 * goes").
 *
 *   node test/bench/broker/step-costs.ts
 *
 * Env: BENCH_STEP_OPS (3000), BENCH_CONCURRENCY (32). Output: a table; JSON in the log directory.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpCallbackHandler, lifecycle, ToolCallRepository } from '@mcp-broker/broker';
import type { ToolCallRecord } from '@mcp-broker/contracts';
import { Deadline } from '@mcp-broker/resilience';
import { createLogger } from '@mcp-broker/runtime';
import { createStore } from '@mcp-broker/store';
import pino from 'pino';
// Not exported by the package: the delivery's deadline, measured as the delivery uses it.
import { type BenchChild, killAllChildren, spawnChild } from '../mcp/children.ts';
import { measureStep, type StepResult } from '../step-measure.ts';

const ops = Number(process.env.BENCH_STEP_OPS ?? 3000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);

const children: BenchChild[] = [];
process.on('exit', killAllChildren);
process.once('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});

const logDir = await mkdtemp(join(tmpdir(), 'mcpb-broker-steps-'));
try {
  const databaseId = `bench-${randomUUID().slice(0, 8)}`;
  const cosmos = await spawnChild({
    name: 'cosmos',
    entry: 'cosmos-main.ts',
    env: { BENCH_DATABASE: databaseId, BENCH_CUSTOMERS: '1' },
    logDir,
    readyTimeoutMs: 180_000,
  });
  children.push(cosmos);
  const sink = await spawnChild({ name: 'sink', entry: '../broker/http-sink-main.ts', env: {}, logDir });
  children.push(sink);
  const { endpoint, key } = cosmos.info as { endpoint: string; key: string };
  const sinkUrl = (sink.info as { url: string }).url;
  const store = await createStore({ endpoint, key, databaseId });
  const cosmosPeer = { name: 'cosmos', cpu: () => cosmos.call<number>('cpu') };
  const sinkPeer = { name: 'receiver', cpu: () => sink.call<number>('cpu') };
  const repository = new ToolCallRepository({ store });
  const results: StepResult[] = [];
  const report = (r: StepResult) => {
    results.push(r);
    console.log(
      `${r.step.padEnd(58)} ${r.cpuUs.toFixed(1).padStart(8)} µs CPU/op` +
        (r.peer ? `  + ${r.peerCpuUs?.toFixed(1) ?? '?'} µs in ${r.peer}` : ''),
    );
  };
  console.log(`broker step costs, ${ops} ops each at ${concurrency} in flight (logs in ${logDir})\n`);

  // A record like the benchmark's echo call: small arguments, one http-callback target.
  const request = (i: number) => ({
    tool: 'bench_echo',
    arguments: { message: `hello ${i}` },
    writeBack: [{ type: 'http-callback' as const, url: `${sinkUrl}/callback` }],
    idempotencyKey: randomUUID(),
    source: { kind: 'api' as const },
    correlation: { requestId: randomUUID() },
  });

  // 1. Cosmos: ingress's create, and a worker write (ETag-checked replace from a known basis).
  const created: ToolCallRecord[] = [];
  report(
    await measureStep(
      'cosmos: create the record (ingress)',
      ops,
      concurrency,
      async (i) => {
        const outcome = await repository.create('bench', 'bench', request(i));
        if (i < 1_000_000) created[i] = outcome.record;
      },
      cosmosPeer,
    ),
  );
  let latest = created.slice();
  report(
    await measureStep(
      'cosmos: replace from the known ETag (a worker write)',
      ops,
      concurrency,
      async (i) => {
        const basis = latest[i % latest.length] as ToolCallRecord;
        const saved = await repository.apply(basis.caller, basis.id, (r) => ({ ...r }), basis);
        if (saved) latest[i % latest.length] = saved.record;
      },
      cosmosPeer,
    ),
  );
  latest = [];

  // 2. One HTTP request of a few hundred bytes to a keep-alive receiver: node:http (the callback's
  //    client, and the Cosmos SDK's under its pipeline) against fetch (the MCP SDK's transport).
  const body = JSON.stringify({ id: 'tc_x', status: 'succeeded', result: { content: [{ type: 'text', text: 'x' }] } });
  const nodePost = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        `${sinkUrl}/cb`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  report(await measureStep('http: POST with node:http (keep-alive agent)', ops, concurrency, nodePost, sinkPeer));
  report(
    await measureStep(
      'http: POST with fetch',
      ops,
      concurrency,
      async () => {
        const res = await fetch(`${sinkUrl}/cb`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.text();
      },
      sinkPeer,
    ),
  );

  // 3. The first delivery as the worker makes it: URL policy, payload, signature, the POST.
  const callbacks = new HttpCallbackHandler({
    policyFor: () => ({ hosts: ['127.0.0.1'], allowPrivate: true }),
    secretFor: () => 'bench-callback-secret',
  });
  const outcome = lifecycle.succeed(
    { ...(created[0] as ToolCallRecord), status: 'running' },
    new Date().toISOString(),
    { content: [{ type: 'text', text: 'hello' }] },
  ) as ToolCallRecord;
  report(
    await measureStep(
      'delivery: one signed http-callback (HttpCallbackHandler)',
      ops,
      concurrency,
      () =>
        callbacks.deliver(
          { type: 'http-callback', url: `${sinkUrl}/callback` },
          { record: outcome, targetIndex: 0, signal: new AbortController().signal },
        ),
      sinkPeer,
    ),
  );

  // 4. The attempt's deadline: before (two AbortSignal.timeout and an AbortSignal.any per
  //    attempt, timers left pending for 10 s) and now (Deadline, cleared at the end).
  const signalOps = ops * 20;
  report(
    await measureStep('signals (before): AbortSignal.timeout ×2 + AbortSignal.any', signalOps, 1, () => {
      const attempt = AbortSignal.timeout(10_000);
      return AbortSignal.any([attempt, AbortSignal.timeout(10_000)]).aborted;
    }),
  );
  report(
    await measureStep('signals (now): Deadline ×2, disposed', signalOps, 1, () => {
      const attempt = new Deadline(10_000, { what: 'The attempt' });
      const own = new Deadline(10_000, { outer: attempt.signal, what: 'The attempt' });
      const aborted = own.signal.aborted;
      own.dispose();
      attempt.dispose();
      return aborted;
    }),
  );

  // 5. Logging per job, to a file as in the benchmark: a child logger per job (before) and the
  //    one line a successful call writes ("write-back delivered").
  const logger = createLogger({
    name: 'worker',
    level: 'info',
    destination: pino.destination({ dest: join(logDir, 'steps.log'), sync: true }),
  });
  const fields = { callId: 'tc_0123456789abcdef', caller: 'bench', target: 0, type: 'http-callback' };
  report(
    await measureStep('logging: a child logger per job (before; not written to)', ops * 5, 1, (i) => {
      logger.child({ callId: `tc_${i}`, caller: 'bench', jobId: `tc_${i}` });
    }),
  );
  report(
    await measureStep('logging: the "write-back delivered" line at info', ops * 5, 1, () => {
      logger.info(fields, 'write-back delivered');
    }),
  );

  await writeFile(join(logDir, 'step-costs.json'), JSON.stringify({ ops, concurrency, results }, null, 2));
  console.log(`\nresults: ${join(logDir, 'step-costs.json')}`);
  await store.close();
} finally {
  await Promise.allSettled(children.map((c) => c.stop()));
}

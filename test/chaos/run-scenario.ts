import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { ChaosStack, REQUEST_CHANNEL } from './chaos-stack.ts';
import { readInvocations } from './recording-tool.ts';
import { type FaultContext, type Scenario, sleep } from './scenarios.ts';
import type { ChaosSettings } from './settings.ts';
import { publishEvents, type Submission, submitCalls } from './submissions.ts';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface ScenarioResult {
  name: string;
  describe: string;
  faults: string;
  submitted: number;
  accepted: number;
  /** Submissions never accepted (kept retrying the same key until the deadline, or refused). */
  notAccepted: number;
  succeeded: number;
  failed: number;
  /** Accepted, but not final, or final without its write-back processed by the receiver, by the deadline. */
  lost: number;
  notFinal: number;
  noWriteBack: number;
  /** Calls whose tool ran more than once, and the extra invocations in all (allowed: at-least-once). */
  duplicateInvocations: number;
  extraInvocations: number;
  /** Calls whose write-back the receiver processed more than once (same Idempotency-Key). */
  duplicateWriteBacks: number;
  /**
   * Of those, ones the record does not account for: more repeats than attempts the record calls
   * unconfirmed (`unconfirmedAttempts`: the worker died during them, or they timed out after the
   * send). A repeat the record owns is the documented at-least-once case a receiver dedupes by key.
   */
  unrecordedDuplicates: number;
  /** Answers the load saw before acceptance (503, 409, network…), summed. */
  retriedAnswers: Record<string, number>;
  seconds: number;
  details: string[];
  /** Every repeated write-back counts as a failure here, owned by the record or not. */
  strictWriteBacks?: boolean;
  error?: string;
}

interface View {
  id: string;
  status: string;
  attempts: number;
  deliveries: Array<{ status: string; attempts: number; unconfirmedAttempts?: number }>;
}

export async function runScenario(
  scenario: Scenario,
  settings: ChaosSettings,
  root: string,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const t0 = performance.now();
  const notes: string[] = [];
  const salesforce =
    scenario.source === 'salesforce' ? await startSalesforceSandbox({ longPollTimeoutMs: 2_000 }) : undefined;
  const stack = await ChaosStack.start({
    ...(salesforce ? { salesforce } : {}),
    root,
    aof: scenario.aof,
    workers: scenario.workers,
    concurrency: scenario.backlog?.callerConcurrency ?? settings.concurrency,
    extraWorkerEnv: settings.workerEnv,
    logLevel: settings.logLevel,
    log,
  }).catch(async (err: unknown) => {
    await salesforce?.close();
    throw err;
  });
  log(`stack up in ${Math.round(performance.now() - t0)} ms; logs ${stack.logDir}; Redis ${stack.redis.url}`);
  try {
    if (scenario.receiver) stack.receiver.fault = scenario.receiver;
    const windowMs = settings.loadSeconds * 1000;
    const loadStart = performance.now();
    const ctx: FaultContext = {
      stack,
      ...(salesforce ? { salesforce } : {}),
      settings,
      at: (fraction) => sleep(Math.max(0, loadStart + fraction * windowMs - performance.now())),
      sleep,
      note: (text) => notes.push(text),
      log,
    };
    const runId = randomUUID().slice(0, 8);
    if (salesforce) await stack.salesforceSubscribed();
    const [submissions] = await Promise.all([
      salesforce
        ? publishEvents({
            sandbox: salesforce,
            channel: REQUEST_CHANNEL,
            callbackUrl: stack.receiver.url,
            runId,
            total: settings.calls,
            windowMs,
            toolDelayMs: settings.toolDelayMs,
          })
        : submitCalls({
            ingressUrl: stack.ingressUrl,
            authorization: stack.authorization,
            callbackUrl: stack.receiver.url,
            runId,
            total: settings.calls,
            windowMs,
            concurrency: settings.concurrency,
            toolDelayMs: scenario.backlog?.toolDelayMs ?? settings.toolDelayMs,
            retryMs: 30_000 + settings.outageSeconds * 1000,
            ...(scenario.writeBackTimeoutMs ? { writeBackTimeoutMs: scenario.writeBackTimeoutMs } : {}),
          }),
      scenario.inject?.(ctx),
    ]);
    const accepted = submissions.filter((s) => s.id !== undefined);
    log(`${accepted.length}/${submissions.length} accepted; waiting for their write-backs`);

    const settleDeadline = performance.now() + settings.settleSeconds * 1000;
    // The first target's delivery of each call, found by the call's idempotency key (the callback body carries it).
    const deliveryOf = (s: Submission) => stack.receiver.byCallKey.get(s.key);
    const missing = () => accepted.filter((s) => !(deliveryOf(s)?.processed ?? 0)).length;
    while (missing() > 0 && performance.now() < settleDeadline) await sleep(250);
    log(
      `${accepted.length - missing()}/${accepted.length} written back; listening ${settings.quietSeconds} s for late repeats`,
    );
    await sleep(settings.quietSeconds * 1000);
    // A published event's call id is learnt from its write-back; one never written back has none to look up.
    for (const s of accepted) if (!s.id) s.id = deliveryOf(s)?.callId ?? '';

    // The records, as the caller sees them.
    const views = new Map<string, View>();
    const queue = [...accepted];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          if (!s.id) continue;
          for (let attempt = 0; attempt < 5; attempt++) {
            try {
              const res = await fetch(`${stack.ingressUrl}/v1/tool-calls/${s.id}`, {
                headers: { authorization: stack.authorization },
                signal: AbortSignal.timeout(10_000),
              });
              if (res.ok) {
                views.set(s.id!, (await res.json()) as View);
                break;
              }
            } catch {
              // again
            }
            await sleep(500);
          }
        }
      }),
    );
    const invocations = readInvocations(stack.invocationLog);
    // The reconcile sweep logs each call or delivery it queued again (a warning, so at every CHAOS_LOG_LEVEL up to warn).
    let swept = 0;
    for (const file of (await readdir(stack.logDir)).filter((f) => f.startsWith('worker-'))) {
      swept += (await readFile(join(stack.logDir, file), 'utf8')).split('had no job; queued again').length - 1;
    }
    if (swept) notes.push(`${swept} re-queued by the sweep`);
    const details: string[] = [];
    let succeeded = 0;
    let failed = 0;
    let notFinal = 0;
    let noWriteBack = 0;
    let lost = 0;
    let duplicateInvocations = 0;
    let extraInvocations = 0;
    let duplicateWriteBacks = 0;
    let unrecordedDuplicates = 0;
    const stuck: Record<string, number> = {};
    for (const s of accepted) {
      const view = s.id ? views.get(s.id) : undefined;
      const status = view?.status ?? 'unreadable';
      if (status === 'succeeded') succeeded += 1;
      if (status === 'failed') failed += 1;
      const final = FINAL.has(status);
      const delivery = deliveryOf(s);
      if (!final) {
        notFinal += 1;
        const label = `${status} (attempts ${view?.attempts ?? '?'})`;
        stuck[label] = (stuck[label] ?? 0) + 1;
      }
      if (!delivery?.processed) noWriteBack += 1;
      if (!final || !delivery?.processed) lost += 1;
      const n = invocations.get(s.key) ?? 0;
      if (n > 1) {
        duplicateInvocations += 1;
        extraInvocations += n - 1;
      }
      if (delivery && delivery.processed > 1) {
        duplicateWriteBacks += 1;
        const recorded = view?.deliveries[0];
        const owned = (recorded?.unconfirmedAttempts ?? 0) >= delivery.processed - 1;
        if (!owned) unrecordedDuplicates += 1;
        if (details.length < 12) {
          details.push(
            `${owned ? 'recorded' : 'UNRECORDED'} duplicate write-back ${delivery.key}: processed ${delivery.processed}× ` +
              `(arrived ${delivery.arrivals}×); record ${status}, delivery ${recorded?.status ?? '?'} ` +
              `attempts ${recorded?.attempts ?? '?'} unconfirmed ${recorded?.unconfirmedAttempts ?? 0}`,
          );
        }
      }
      if (final && !delivery?.processed && details.length < 12) {
        details.push(
          `no write-back for ${s.id} (${status}): delivery ${view?.deliveries[0]?.status ?? '?'}, ` +
            `attempts ${view?.deliveries[0]?.attempts ?? '?'}`,
        );
      }
    }
    for (const [label, count] of Object.entries(stuck)) details.push(`${count} calls still ${label}`);
    // A call id seen under another key than its first target's: a replay, or a bug.
    for (const d of stack.receiver.byKey.values()) {
      if (d.key !== `${d.callId}.wb0` && details.length < 16) details.push(`unexpected key ${d.key} for ${d.callId}`);
    }
    if (stack.receiver.badSignatures) details.push(`${stack.receiver.badSignatures} callbacks with a bad signature`);
    if (stack.receiver.missingKeys) details.push(`${stack.receiver.missingKeys} callbacks without Idempotency-Key`);
    const retriedAnswers: Record<string, number> = {};
    for (const s of submissions) {
      for (const [k, v] of Object.entries(s.answers)) retriedAnswers[k] = (retriedAnswers[k] ?? 0) + v;
    }
    const refusals = submissions.filter((s) => s.refused).map((s) => s.refused!);
    if (refusals.length) details.push(`${refusals.length} never accepted, e.g. ${refusals[0]}`);
    return {
      name: scenario.name,
      describe: scenario.describe,
      faults: notes.join('; ') || receiverFaultNote(scenario),
      submitted: submissions.length,
      accepted: accepted.length,
      notAccepted: submissions.length - accepted.length,
      succeeded,
      failed,
      lost,
      notFinal,
      noWriteBack,
      duplicateInvocations,
      extraInvocations,
      duplicateWriteBacks,
      unrecordedDuplicates,
      retriedAnswers,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      details,
      ...(scenario.strictWriteBacks ? { strictWriteBacks: true } : {}),
    };
  } finally {
    await stack.close();
    await salesforce?.close();
  }
}

function receiverFaultNote(scenario: Scenario): string {
  const f = scenario.receiver;
  if (!f || f.kind === 'none') return '–';
  const which = `1 call in ${f.every}`;
  if (f.kind === 'fail') return `503 ×${f.times}, ${which}`;
  if (f.kind === 'throttle') return `429 Retry-After ${f.retryAfterSeconds} s ×${f.times}, ${which}`;
  const timeout = scenario.writeBackTimeoutMs ? `timeoutMs ${scenario.writeBackTimeoutMs / 1000} s` : 'default timeout';
  return `${f.stallMs / 1000} s answer, ${which}, ${timeout}`;
}

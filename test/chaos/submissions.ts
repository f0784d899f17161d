import type { SalesforceSandbox } from '@mcp-broker/salesforce-sandbox';
import { RECORD_TOOL_NAME } from './recording-tool.ts';

export interface Submission {
  n: number;
  key: string;
  /** The call id, once a 202 (or a 200 for the same key) was read; '' for a published event (id learnt from its write-back). */
  id?: string;
  /** Answers other than the accepting one, by status (`network` for no answer). */
  answers: Record<string, number>;
  /** Why it was never accepted (a permanent refusal, or retries until the deadline). */
  refused?: string;
}

/**
 * Submits `total` calls spread evenly over `windowMs`, at most `concurrency` in flight, as a
 * careful API client does: one Idempotency-Key per call, and a retry with the same key after a
 * 503, 409 (key in progress), 429, 5xx or no answer, until `retryMs` after the window closes.
 * Bounded in count and time; loopback only.
 */
export async function submitCalls(options: {
  ingressUrl: string;
  authorization: string;
  callbackUrl: string;
  runId: string;
  total: number;
  windowMs: number;
  concurrency: number;
  toolDelayMs: number;
  retryMs: number;
  /** The target's `timeoutMs`; unset: the broker's default. */
  writeBackTimeoutMs?: number;
}): Promise<Submission[]> {
  const url = new URL('/v1/tool-calls', options.ingressUrl);
  if (url.hostname !== '127.0.0.1') throw new Error('the chaos load only goes to 127.0.0.1');
  const t0 = performance.now();
  const deadline = t0 + options.windowMs + options.retryMs;
  const submissions: Submission[] = [];
  let inFlight = 0;
  const slots: Array<() => void> = [];
  const one = async (s: Submission) => {
    const body = JSON.stringify({
      tool: RECORD_TOOL_NAME,
      arguments: { token: s.key, delayMs: options.toolDelayMs },
      writeBack: [
        {
          type: 'http-callback',
          url: options.callbackUrl,
          ...(options.writeBackTimeoutMs ? { timeoutMs: options.writeBackTimeoutMs } : {}),
        },
      ],
    });
    for (;;) {
      let status = 'network';
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: options.authorization,
            'content-type': 'application/json',
            'idempotency-key': s.key,
          },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        status = String(res.status);
        const text = await res.text();
        if (res.status === 202 || res.status === 200) {
          s.id = (JSON.parse(text) as { id: string }).id;
          return;
        }
        const retryable = res.status === 409 || res.status === 429 || res.status >= 500;
        if (!retryable) {
          s.refused = `HTTP ${res.status} ${text.slice(0, 160)}`;
          return;
        }
      } catch {
        // no answer: the same key again
      }
      s.answers[status] = (s.answers[status] ?? 0) + 1;
      if (performance.now() > deadline) {
        s.refused = `not accepted before the deadline (last answer ${status})`;
        return;
      }
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 300));
    }
  };
  const running: Promise<void>[] = [];
  for (let n = 0; n < options.total; n++) {
    const due = t0 + (n * options.windowMs) / options.total;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight >= options.concurrency) await new Promise<void>((r) => slots.push(r));
    const s: Submission = { n, key: `chaos-${options.runId}-${n}`, answers: {} };
    submissions.push(s);
    inFlight += 1;
    running.push(
      one(s).finally(() => {
        inFlight -= 1;
        slots.shift()?.();
      }),
    );
  }
  await Promise.all(running);
  return submissions;
}

/**
 * Publishes `total` platform events spread over `windowMs`, as a record-triggered Flow would: the
 * tool, its arguments and write-back as JSON text fields, the request id (the call's idempotency
 * key) in Request_Id__c. The sandbox accepts each at once; the worker's connector picks them up.
 */
export async function publishEvents(options: {
  sandbox: SalesforceSandbox;
  channel: string;
  callbackUrl: string;
  runId: string;
  total: number;
  windowMs: number;
  toolDelayMs: number;
}): Promise<Submission[]> {
  const t0 = performance.now();
  const submissions: Submission[] = [];
  for (let n = 0; n < options.total; n++) {
    const wait = t0 + (n * options.windowMs) / options.total - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const s: Submission = { n, key: `chaos-sf-${options.runId}-${n}`, answers: {} };
    try {
      options.sandbox.publishEvent(options.channel, {
        Tool__c: RECORD_TOOL_NAME,
        Arguments__c: JSON.stringify({ token: s.key, delayMs: options.toolDelayMs }),
        Request_Id__c: s.key,
        Write_Back__c: JSON.stringify([{ type: 'http-callback', url: options.callbackUrl }]),
      });
      // Published is accepted: from here on the broker owes it a call and a write-back.
      s.id = '';
    } catch (err) {
      s.refused = (err as Error).message;
    }
    submissions.push(s);
  }
  return submissions;
}

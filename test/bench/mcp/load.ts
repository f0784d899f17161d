import { Agent, request } from 'node:http';

export interface LoadOptions {
  /** Full URL of the MCP endpoint. */
  url: string;
  headers: Record<string, string>;
  /** Requests in flight at once (one keep-alive connection each); the cap in open-loop mode. */
  concurrency: number;
  /**
   * Open-loop mode: start this many calls per second whatever the response times (at most
   * `concurrency` in flight; a call that cannot start for that reason is counted in `behind`).
   * Unset: closed loop, each of `concurrency` workers sends its next call when the last one ends.
   */
  rate?: number;
  warmupMs: number;
  durationMs: number;
  /** The request body for the n-th request. */
  body(n: number): string;
  /** Returns an error description, or undefined when the response is what a tool call should return. */
  check(status: number, contentType: string, body: string, n: number): string | undefined;
  /** Called about once a second during the measured window (RSS sampling). */
  onTick?(): void | Promise<void>;
  /** Called when the measured window opens and when it closes (CPU accounting). */
  onWindowStart?(): void | Promise<void>;
  onWindowEnd?(): void | Promise<void>;
}

export interface LoadResult {
  /** Calls completed in the measured window, successful or not. */
  calls: number;
  /** Successful calls over the whole run, warm-up included (for the audit record check). */
  totalSucceeded: number;
  errors: number;
  /** Open loop only: calls not started because `concurrency` calls were still in flight. */
  behind: number;
  /** Up to five distinct error descriptions with their counts. */
  errorSamples: Record<string, number>;
  seconds: number;
  callsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** The five slowest calls of the window: when they started (s into the window) and how long they took. */
  slowest: { startS: number; ms: number }[];
}

/**
 * Closed-loop load (default): `concurrency` workers each send a request, wait for the whole
 * response, check it, and send the next, over keep-alive connections; or open-loop load at a fixed
 * `rate`. First the warm-up (discarded), then the measured window; only requests that complete
 * inside the window count. Bounded in time.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency });
  const latencies: number[] = [];
  const starts: number[] = [];
  const errorSamples: Record<string, number> = {};
  let errors = 0;
  let totalSucceeded = 0;
  let counter = 0;
  const warmupEnd = performance.now() + options.warmupMs;
  const windowEnd = warmupEnd + options.durationMs;

  const one = (n: number): Promise<{ status: number; contentType: string; body: string }> =>
    new Promise((resolve, reject) => {
      const payload = options.body(n);
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { ...options.headers, 'content-length': Buffer.byteLength(payload) },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out after 30 s')));
      req.on('error', reject);
      req.end(payload);
    });

  const callOnce = async () => {
    const n = counter++;
    const t0 = performance.now();
    let error: string | undefined;
    try {
      const res = await one(n);
      error = options.check(res.status, res.contentType, res.body, n);
    } catch (err) {
      error = `transport: ${err instanceof Error ? err.message : String(err)}`;
    }
    const t1 = performance.now();
    if (error === undefined) totalSucceeded += 1;
    if (t1 < warmupEnd || t1 > windowEnd) return; // warm-up, or finished after the window closed
    latencies.push(t1 - t0);
    starts.push(t0);
    if (error !== undefined) {
      errors += 1;
      if (error in errorSamples || Object.keys(errorSamples).length < 5) {
        errorSamples[error] = (errorSamples[error] ?? 0) + 1;
      }
    }
  };
  const worker = async () => {
    while (performance.now() < windowEnd) await callOnce();
  };
  let behind = 0;
  const openLoop = async (rate: number) => {
    const start = performance.now();
    const inFlight = new Set<Promise<void>>();
    let started = 0;
    while (performance.now() < windowEnd) {
      const due = Math.floor(((performance.now() - start) * rate) / 1000);
      for (; started < due; started += 1) {
        if (inFlight.size >= options.concurrency) {
          if (performance.now() >= warmupEnd) behind += 1;
          continue;
        }
        const call: Promise<void> = callOnce().finally(() => inFlight.delete(call));
        inFlight.add(call);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(inFlight);
  };

  const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));
  const ticker = (async () => {
    await sleepUntil(warmupEnd);
    await options.onWindowStart?.();
    for (let tick = warmupEnd + 1_000; tick < windowEnd; tick += 1_000) {
      await sleepUntil(tick);
      await options.onTick?.();
    }
    await sleepUntil(windowEnd);
    await options.onWindowEnd?.();
  })();

  try {
    const load =
      options.rate === undefined ? Array.from({ length: options.concurrency }, worker) : [openLoop(options.rate)];
    await Promise.all([...load, ticker]);
  } finally {
    agent.destroy();
  }

  const sorted = Float64Array.from(latencies).sort();
  const slowest = latencies
    .map((ms, i) => ({ startS: Math.round((starts[i]! - warmupEnd) / 10) / 100, ms: Math.round(ms) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5);
  const pct = (p: number) =>
    sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  const seconds = options.durationMs / 1000;
  const round2 = (x: number) => Math.round(x * 100) / 100;
  return {
    calls: sorted.length,
    totalSucceeded,
    errors,
    behind,
    errorSamples,
    seconds: round2(seconds),
    callsPerSecond: round2(sorted.length / seconds),
    latencyMs: {
      p50: round2(pct(50)),
      p90: round2(pct(90)),
      p99: round2(pct(99)),
      max: round2(sorted.length ? sorted[sorted.length - 1]! : Number.NaN),
      mean: round2(sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1)),
    },
    slowest,
  };
}

/**
 * The JSON-RPC message in a Streamable HTTP response: the body itself (application/json) or the
 * `data:` of the SSE event that answers the request (text/event-stream).
 */
export function jsonRpcMessageOf(contentType: string, body: string, id: number): Record<string, unknown> | undefined {
  if (contentType.startsWith('application/json')) return JSON.parse(body) as Record<string, unknown>;
  if (contentType.startsWith('text/event-stream')) {
    for (const line of body.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const message = JSON.parse(line.slice(5)) as Record<string, unknown>;
      if (message.id === id) return message;
    }
  }
  return undefined;
}

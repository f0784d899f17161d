import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyCallbackSignature } from '@mcp-broker/broker';
import { callTool, type McpClientPool, type TokenProvider } from '@mcp-broker/mcp-client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ECHO_TOOL_NAME } from './echo-tool.ts';

/** One finished call of a phase: when it started and ended (performance.now() ms) and what went wrong. */
export interface CallSample<T> {
  n: number;
  t0: number;
  t1: number;
  value?: T;
  error?: string;
}

export interface FixedCallsResult<T> {
  samples: CallSample<T>[];
  /** From the first call's start to the last call's end. */
  wallMs: number;
  /** Calls never started because the phase deadline passed. */
  notStarted: number;
}

/** The failed samples' errors, counted: the first five distinct messages only, so a report stays short. */
export function errorCounts(samples: readonly CallSample<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) {
    if (s.error === undefined) continue;
    if (s.error in counts || Object.keys(counts).length < 5) counts[s.error] = (counts[s.error] ?? 0) + 1;
  }
  return counts;
}

/**
 * Closed-loop load over a fixed number of calls: `concurrency` loops each start a call, wait for
 * it to finish, and start the next, until `total` calls have been started. Bounded: no call starts
 * after `deadline` (performance.now() ms), and every `one` must bound itself (timeouts).
 */
export async function runFixedCalls<T>(options: {
  total: number;
  concurrency: number;
  deadline: number;
  /** Aborting stops starting calls, like the deadline. */
  signal?: AbortSignal;
  one(n: number): Promise<T>;
  /** Called after each finished call with the number finished so far (checkpoints). */
  onDone?(finished: number): void;
}): Promise<FixedCallsResult<T>> {
  const samples: CallSample<T>[] = [];
  let next = 0;
  let notStarted = 0;
  const start = performance.now();
  const loop = async () => {
    while (next < options.total) {
      if (performance.now() > options.deadline || options.signal?.aborted) {
        notStarted = options.total - next;
        next = options.total;
        return;
      }
      const n = next++;
      const t0 = performance.now();
      try {
        const value = await options.one(n);
        samples.push({ n, t0, t1: performance.now(), value });
      } catch (err) {
        samples.push({ n, t0, t1: performance.now(), error: describe(err) });
      }
      options.onDone?.(samples.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.total) }, loop));
  const end = samples.reduce((m, s) => Math.max(m, s.t1), start);
  return { samples, wallMs: end - start, notStarted };
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return text.slice(0, 200);
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export function percentiles(values: number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const pct = (p: number) =>
    sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    p50: r2(pct(50)),
    p90: r2(pct(90)),
    p99: r2(pct(99)),
    max: r2(sorted.length ? sorted[sorted.length - 1]! : Number.NaN),
    mean: r2(values.reduce((a, b) => a + b, 0) / (values.length || 1)),
  };
}

// ---- Broker path -------------------------------------------------------------------------------

interface CallbackArrival {
  /** performance.now() when the callback's body had arrived. */
  at: number;
  body: {
    id: string;
    status: string;
    result?: { structuredContent?: { echoed?: string } };
    completedAt: string | null;
  };
}

/**
 * The caller's callback endpoint on loopback: verifies each callback's signature (as a real
 * receiver must), answers 200 at once, and hands the arrival to whoever waits for that call id.
 * Arrival time is the call's completion as the caller sees it: no polling load, no poll interval.
 */
export class CallbackReceiver {
  readonly #server: Server;
  readonly #waiting = new Map<string, (arrival: CallbackArrival | undefined, error?: Error) => void>();
  /** Callbacks that arrived before their submission's 202 was read (possible, if rare). */
  readonly #early = new Map<string, CallbackArrival>();
  readonly #seen = new Set<string>();
  readonly #secret: string;
  received = 0;
  duplicates = 0;
  badSignatures = 0;
  /** Calls whose callback did not arrive within the call timeout. */
  timedOut = 0;

  private constructor(server: Server, secret: string) {
    this.#server = server;
    this.#secret = secret;
  }

  static async start(secret: string): Promise<CallbackReceiver> {
    const server = createServer();
    const receiver = new CallbackReceiver(server, secret);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const at = performance.now();
        const signature = req.headers['x-mcp-broker-signature'];
        if (!verifyCallbackSignature(raw, typeof signature === 'string' ? signature : undefined, receiver.#secret)) {
          receiver.badSignatures += 1;
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200).end();
        receiver.#arrive({ at, body: JSON.parse(raw) as CallbackArrival['body'] });
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  url(path = '/callback'): string {
    return `http://${this.host}${path}`;
  }

  #arrive(arrival: CallbackArrival) {
    this.received += 1;
    const { id } = arrival.body;
    if (this.#seen.has(id)) {
      this.duplicates += 1;
      return;
    }
    this.#seen.add(id);
    const waiter = this.#waiting.get(id);
    if (waiter) {
      this.#waiting.delete(id);
      waiter(arrival);
    } else {
      this.#early.set(id, arrival);
    }
  }

  /** Resolves with the callback of call `id`; rejects after `timeoutMs`. */
  waitFor(id: string, timeoutMs: number): Promise<CallbackArrival> {
    const early = this.#early.get(id);
    if (early) {
      this.#early.delete(id);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        this.timedOut += 1;
        reject(new Error(`no callback within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (arrival, error) => {
        clearTimeout(timer);
        if (arrival) resolve(arrival);
        else reject(error);
      });
    });
  }

  /** Fails every call still waiting for its callback (the run is being stopped). */
  cancelAll(reason: string): void {
    for (const [id, waiter] of this.#waiting) {
      this.#waiting.delete(id);
      waiter(undefined, new Error(reason));
    }
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

export interface BrokerCallValue {
  /** performance.now() when the 202 had been read. */
  accepted: number;
  /** Epoch ms of the submission's start and of the record's `completedAt` (worker clock, ms resolution). */
  submittedEpoch: number;
  completedEpoch: number | undefined;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One HTTP request on a keep-alive agent; resolves with the status and the body as text. */
export function send(agent: Agent, url: URL, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: 120_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out after 120 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One call through the broker as an API caller makes it: `POST /v1/tool-calls` (Basic auth, a new
 * Idempotency-Key per call), then completion by signed callback (default) or by long polling
 * `GET /v1/tool-calls/{id}?wait=`. Throws unless the call succeeded with the echoed message.
 */
export function brokerCaller(options: {
  ingressUrl: string;
  authorization: string;
  concurrency: number;
  completion: 'callback' | 'wait';
  receiver: CallbackReceiver;
  callTimeoutMs: number;
}) {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency });
  const submitUrl = new URL('/v1/tool-calls', options.ingressUrl);
  const writeBack =
    options.completion === 'callback' ? [{ type: 'http-callback', url: options.receiver.url('/callback') }] : [];
  let keys = 0;
  /** Submissions answered 202: each must end as exactly one record. */
  let acceptedCount = 0;
  const runId = `${process.pid}-${Date.now().toString(36)}`;

  const call = async (message: string): Promise<BrokerCallValue> => {
    const submittedEpoch = performance.timeOrigin + performance.now();
    const res = await send(
      agent,
      submitUrl,
      'POST',
      {
        authorization: options.authorization,
        'content-type': 'application/json',
        'idempotency-key': `bench-${runId}-${keys++}`,
      },
      JSON.stringify({ tool: ECHO_TOOL_NAME, arguments: { message }, writeBack }),
    );
    const accepted = performance.now();
    if (res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${res.body.slice(0, 160)}`);
    acceptedCount += 1;
    const { id } = JSON.parse(res.body) as { id: string };
    let status: string;
    let echoed: string | undefined;
    let completedAt: string | null | undefined;
    if (options.completion === 'callback') {
      const arrival = await options.receiver.waitFor(id, options.callTimeoutMs);
      ({ status, completedAt } = arrival.body);
      echoed = arrival.body.result?.structuredContent?.echoed;
    } else {
      const deadline = performance.now() + options.callTimeoutMs;
      const statusUrl = new URL(`/v1/tool-calls/${id}?wait=30`, options.ingressUrl);
      for (;;) {
        const polled = await send(agent, statusUrl, 'GET', { authorization: options.authorization });
        if (polled.status !== 200) throw new Error(`wait: HTTP ${polled.status} ${polled.body.slice(0, 160)}`);
        const record = JSON.parse(polled.body) as CallbackArrival['body'];
        ({ status, completedAt } = record);
        echoed = record.result?.structuredContent?.echoed;
        if (['succeeded', 'failed', 'cancelled'].includes(status)) break;
        if (performance.now() > deadline) throw new Error(`still ${status} after ${options.callTimeoutMs} ms`);
      }
    }
    if (status !== 'succeeded') throw new Error(`call ended ${status}`);
    if (echoed !== message) throw new Error('result does not echo the message');
    return { accepted, submittedEpoch, completedEpoch: completedAt ? Date.parse(completedAt) : undefined };
  };
  return { call, accepted: () => acceptedCount, close: () => agent.destroy() };
}

// ---- Direct paths -------------------------------------------------------------------------------

function echoedOf(result: unknown): string | undefined {
  const r = result as { isError?: boolean; structuredContent?: { echoed?: unknown } };
  if (r.isError) throw new Error('tool returned isError');
  return typeof r.structuredContent?.echoed === 'string' ? r.structuredContent.echoed : undefined;
}

/** One call through the broker's own pooled-client code (`McpClientPool` + `callTool`), no broker around it. */
export function pooledCaller(pool: McpClientPool, key: { caller: string; endpoint: string }) {
  return async (message: string): Promise<void> => {
    const { result } = await callTool({ pool, key, tool: ECHO_TOOL_NAME, arguments: { message } });
    if (echoedOf(result) !== message) throw new Error('result does not echo the message');
  };
}

/**
 * One call on a session of its own, as a client without a pool makes it: a new SDK `Client` and
 * `StreamableHTTPClientTransport`, `connect` (initialize + initialized), `callTool`, `close`.
 * The token is cached (a per-call token would measure the token endpoint, not the session).
 */
export function perCallSessionCaller(url: string, tokens: TokenProvider) {
  return async (message: string): Promise<void> => {
    const token = await tokens.getToken();
    const client = new Client({ name: 'bench-per-call', version: '1.0.0' }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport, { timeout: 30_000 });
    try {
      const result = await client.callTool({ name: ECHO_TOOL_NAME, arguments: { message } }, undefined, {
        timeout: 30_000,
      });
      if (echoedOf(result) !== message) throw new Error('result does not echo the message');
    } finally {
      await client.close();
    }
  };
}

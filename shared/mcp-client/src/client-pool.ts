import { type EndpointConfig, resolveSecret, SecretMissingError } from '@mcp-broker/broker-config';
import { raceAbort } from '@mcp-broker/resilience';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCErrorResponse, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';
import { McpCallError } from './mcp-call-error.ts';
import type { TokenProvider } from './token-provider.ts';
import { UpstreamHttpError } from './upstream-http.ts';

/** Clients are pooled per caller (whose identity they carry) and endpoint. */
export interface PoolKey {
  /** Configured caller id. */
  caller: string;
  /** Configured endpoint id. */
  endpoint: string;
}

/** Where a key's clients connect and whose token they send. */
export interface PoolTarget {
  endpoint: EndpointConfig;
  tokenProvider: TokenProvider;
}

export interface McpClientPoolOptions {
  /** The endpoint and token provider of a key; called when a client for the key is created. */
  resolve(key: PoolKey): PoolTarget;
  /** Environment holding referenced secrets (the APIM subscription key). */
  env: Record<string, string | undefined>;
  /** Clients per key, each serving one call at a time; further calls wait. Default 4. */
  maxPerKey?: number;
  /** Close a client after it has been idle this long, in ms. Default 60,000. */
  idleMs?: number;
  /** Announced in `initialize`. Default `{ name: 'mcp-broker', version: '0.1.0' }`. */
  clientInfo?: { name: string; version: string };
  /** HTTP client under the header-injecting wrapper. Default global `fetch`. */
  fetch?: FetchLike;
}

/** A client lent for one call. Release it exactly once (further calls are ignored). */
export interface ClientLease {
  readonly client: Client;
  readonly key: PoolKey;
  readonly target: PoolTarget;
  /** Returns the client to the pool, or closes it when `discard` is set or it broke meanwhile. */
  release(options?: { discard?: boolean }): void;
}

export interface PoolStats {
  /** Clients connected since the pool started. */
  created: number;
  /** Leases served by an already connected client. */
  reused: number;
  /** Clients closed because they broke or were discarded. */
  discarded: number;
  /** Clients closed after `idleMs` without use. */
  idleClosed: number;
  /** Connected clients (idle and in use). */
  open: number;
  inUse: number;
  idle: number;
  /** Acquisitions waiting for a client. */
  waiting: number;
}

interface Entry {
  readonly client: Client;
  readonly target: PoolTarget;
  readonly bucket: Bucket;
  broken: boolean;
  closing: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

interface Waiter {
  resolve(entry: Entry, reused: boolean): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
}

interface Bucket {
  readonly key: PoolKey;
  readonly idle: Entry[];
  readonly busy: Set<Entry>;
  connecting: number;
  readonly waiters: Waiter[];
}

/**
 * Connected MCP SDK clients per (caller, endpoint), reused across calls. Each client serves one call
 * at a time (a lease); up to `maxPerKey` clients exist per key and further acquisitions queue in
 * order. Idle clients close after `idleMs` (unref'd timers, so an idle pool never holds the process
 * open). A client whose transport closes or whose stream breaks is closed and replaced on the next
 * acquisition; a caller that saw a connection-level failure releases with `discard`.
 *
 * Every HTTP request of a pooled client goes through one fetch wrapper that sets
 * `Authorization: Bearer <token>` from the key's `TokenProvider` at send time (so a refreshed token
 * applies to clients created before the refresh), adds `Ocp-Apim-Subscription-Key` when configured,
 * and turns a non-2xx POST into an `UpstreamHttpError` carrying the status, `Retry-After` and the
 * JSON-RPC error of the body, which the SDK would otherwise reduce to text.
 */
export class McpClientPool {
  readonly #options: McpClientPoolOptions;
  readonly #maxPerKey: number;
  readonly #idleMs: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #counters = { created: 0, reused: 0, discarded: 0, idleClosed: 0 };
  #closed = false;

  constructor(options: McpClientPoolOptions) {
    this.#options = options;
    this.#maxPerKey = options.maxPerKey ?? 4;
    this.#idleMs = options.idleMs ?? 60_000;
    if (!Number.isInteger(this.#maxPerKey) || this.#maxPerKey < 1) throw new TypeError('maxPerKey must be ≥ 1');
  }

  /** The endpoint and token provider of a key (as `resolve` returns them). */
  target(key: PoolKey): PoolTarget {
    return this.#options.resolve(key);
  }

  /** Lends a connected client for `key`, connecting one when none is idle and the key has room. */
  acquire(key: PoolKey, options: { signal?: AbortSignal } = {}): Promise<ClientLease> {
    if (this.#closed) return Promise.reject(poolClosed());
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelled());
    const bucket = this.#bucket(key);
    return new Promise<ClientLease>((resolve, reject) => {
      const onAbort = () => {
        const index = bucket.waiters.indexOf(waiter);
        if (index >= 0) bucket.waiters.splice(index, 1);
        reject(cancelled());
      };
      const waiter: Waiter = {
        signal,
        resolve: (entry, reused) => {
          signal?.removeEventListener('abort', onAbort);
          if (reused) this.#counters.reused += 1;
          resolve(this.#lease(entry));
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      bucket.waiters.push(waiter);
      this.#pump(bucket);
    });
  }

  /** Runs `fn` with a leased client and releases it afterwards (discarding it when `fn` says so). */
  async withClient<T>(
    key: PoolKey,
    fn: (client: Client, lease: ClientLease) => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const lease = await this.acquire(key, options);
    try {
      return await fn(lease.client, lease);
    } finally {
      lease.release();
    }
  }

  stats(): PoolStats {
    let inUse = 0;
    let idle = 0;
    let waiting = 0;
    for (const bucket of this.#buckets.values()) {
      inUse += bucket.busy.size;
      idle += bucket.idle.length;
      waiting += bucket.waiters.length;
    }
    return { ...this.#counters, open: inUse + idle, inUse, idle, waiting };
  }

  /** Closes every client (in use or idle) and refuses further acquisitions. */
  async close(): Promise<void> {
    this.#closed = true;
    const closing: Promise<void>[] = [];
    for (const bucket of this.#buckets.values()) {
      for (const waiter of bucket.waiters.splice(0)) waiter.reject(poolClosed());
      for (const entry of [...bucket.idle, ...bucket.busy]) closing.push(this.#closeEntry(entry));
      bucket.idle.length = 0;
      bucket.busy.clear();
    }
    this.#buckets.clear();
    await Promise.allSettled(closing);
  }

  #bucket(key: PoolKey): Bucket {
    const id = `${key.caller}\u0000${key.endpoint}`;
    let bucket = this.#buckets.get(id);
    if (!bucket) {
      bucket = {
        key: { caller: key.caller, endpoint: key.endpoint },
        idle: [],
        busy: new Set(),
        connecting: 0,
        waiters: [],
      };
      this.#buckets.set(id, bucket);
    }
    return bucket;
  }

  /** Serves waiters in order: an idle client first (most recently used), else a new one if there is room. */
  #pump(bucket: Bucket): void {
    while (bucket.waiters.length > 0) {
      const entry = bucket.idle.pop();
      if (entry) {
        clearTimeout(entry.idleTimer);
        entry.idleTimer = undefined;
        if (entry.broken) {
          this.#counters.discarded += 1;
          void this.#closeEntry(entry);
          continue;
        }
        bucket.busy.add(entry);
        bucket.waiters.shift()!.resolve(entry, true);
        continue;
      }
      if (bucket.busy.size + bucket.connecting >= this.#maxPerKey) return;
      const waiter = bucket.waiters.shift()!;
      bucket.connecting += 1;
      this.#connect(bucket, waiter.signal).then(
        (created) => {
          bucket.connecting -= 1;
          if (this.#closed) {
            void this.#closeEntry(created);
            waiter.reject(poolClosed());
            return;
          }
          bucket.busy.add(created);
          if (waiter.signal?.aborted) {
            // The waiter gave up while its client was connecting: keep the client for the next one.
            waiter.reject(cancelled());
            this.#giveBack(created, false);
            return;
          }
          waiter.resolve(created, false);
        },
        (err: unknown) => {
          bucket.connecting -= 1;
          waiter.reject(err);
          // Room freed up: another waiter may connect (and fail on its own account).
          this.#pump(bucket);
        },
      );
    }
  }

  #lease(entry: Entry): ClientLease {
    let released = false;
    return {
      client: entry.client,
      key: entry.bucket.key,
      target: entry.target,
      release: (options = {}) => {
        if (released) return;
        released = true;
        this.#giveBack(entry, options.discard ?? false);
      },
    };
  }

  #giveBack(entry: Entry, discard: boolean): void {
    const { bucket } = entry;
    if (!bucket.busy.delete(entry)) return; // closed by close() meanwhile
    if (discard || entry.broken || this.#closed) {
      this.#counters.discarded += 1;
      void this.#closeEntry(entry);
    } else {
      entry.idleTimer = setTimeout(() => this.#expire(entry), this.#idleMs);
      entry.idleTimer.unref();
      bucket.idle.push(entry);
    }
    this.#pump(bucket);
  }

  #expire(entry: Entry): void {
    const index = entry.bucket.idle.indexOf(entry);
    if (index < 0) return;
    entry.bucket.idle.splice(index, 1);
    this.#counters.idleClosed += 1;
    void this.#closeEntry(entry);
  }

  /** The transport closed or its stream broke: close the client so pending requests fail now, not at their timeout. */
  #markBroken(entry: Entry): void {
    if (entry.broken) return;
    entry.broken = true;
    // After the responses already queued by `deliverResponsesLast`, so a call whose answer arrived is not failed.
    setImmediate(() => {
      const index = entry.bucket.idle.indexOf(entry);
      if (index >= 0) {
        entry.bucket.idle.splice(index, 1);
        clearTimeout(entry.idleTimer);
        this.#counters.discarded += 1;
      }
      void this.#closeEntry(entry);
    });
  }

  async #closeEntry(entry: Entry): Promise<void> {
    clearTimeout(entry.idleTimer);
    if (entry.closing) return;
    entry.closing = true;
    await entry.client.close().catch(() => {});
  }

  async #connect(bucket: Bucket, signal: AbortSignal | undefined): Promise<Entry> {
    const target = this.#options.resolve(bucket.key);
    const { endpoint } = target;
    let subscriptionKey: string | undefined;
    if (endpoint.apimSubscriptionKey) {
      try {
        subscriptionKey = resolveSecret(endpoint.apimSubscriptionKey, this.#options.env);
      } catch (err) {
        if (!(err instanceof SecretMissingError)) throw err;
        throw new McpCallError(
          'permanent',
          'UPSTREAM_AUTH_FAILED',
          `Cannot call endpoint "${bucket.key.endpoint}": ${err.message}`,
        );
      }
    }
    const state: FetchState = { lastGetRejection: undefined, tokenError: undefined, onResponseStreamBreak: () => {} };
    const fetch = authorizedFetch(
      this.#options.fetch ?? globalThis.fetch,
      target.tokenProvider,
      subscriptionKey,
      state,
    );
    const url = new URL(endpoint.url);
    const transport: Transport =
      endpoint.transport === 'sse'
        ? new SSEClientTransport(url, { fetch })
        : new StreamableHTTPClientTransport(url, { fetch });
    const client = new Client(this.#options.clientInfo ?? { name: 'mcp-broker', version: '0.1.0' }, {
      capabilities: {},
    });
    // Failures reach the caller through the request they belong to; the rest is noise here.
    client.onerror = () => {};
    const entry: Entry = { client, target, bucket, broken: false, closing: false, idleTimer: undefined };
    // Set before connect: the SDK chains its own handlers after these.
    transport.onclose = () => this.#markBroken(entry);
    // The legacy transport's one SSE stream carries every response: when it fails, the client is done.
    transport.onerror = (err) => {
      if (err instanceof SseError) this.#markBroken(entry);
    };
    state.onResponseStreamBreak = () => this.#markBroken(entry);

    const timeout = AbortSignal.timeout(endpoint.connectTimeoutMs);
    const connectSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      await raceAbort(client.connect(transport, { signal: connectSignal, timeout: endpoint.connectTimeoutMs }), {
        signal: connectSignal,
      });
    } catch (err) {
      entry.closing = true;
      await client.close().catch(() => {});
      if (signal?.aborted) throw cancelled();
      if (timeout.aborted) {
        throw new McpCallError(
          'transient',
          'UPSTREAM_UNAVAILABLE',
          `Connecting to endpoint "${bucket.key.endpoint}" took longer than ${endpoint.connectTimeoutMs} ms.`,
        );
      }
      // The SSE transport's EventSource reports a failed fetch as a bare network error: report the
      // token failure itself. And it reports a refused GET /sse only as a status code; the wrapper kept the details.
      if (err instanceof SseError && state.tokenError) throw state.tokenError;
      if (err instanceof SseError && typeof err.code === 'number' && state.lastGetRejection?.status === err.code) {
        throw state.lastGetRejection;
      }
      throw err;
    }
    deliverResponsesLast(transport);
    this.#counters.created += 1;
    return entry;
  }
}

/** What the fetch wrapper saw that the transports would not pass on. */
interface FetchState {
  lastGetRejection: UpstreamHttpError | undefined;
  tokenError: unknown;
  /** A POST's event-stream response failed mid-way (the connection was cut). */
  onResponseStreamBreak: () => void;
}

/**
 * The per-request header injection and error capture described on `McpClientPool`. The token is
 * taken per request, never stored in the transport, and redacted from any error text.
 */
function authorizedFetch(
  base: FetchLike,
  tokenProvider: TokenProvider,
  subscriptionKey: string | undefined,
  state: FetchState,
): FetchLike {
  return async (url, init) => {
    let token: string;
    try {
      token = await tokenProvider.getToken();
    } catch (err) {
      state.tokenError = err;
      throw err;
    }
    const secrets = [token, subscriptionKey];
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    if (subscriptionKey) headers.set('ocp-apim-subscription-key', subscriptionKey);
    const method = (init?.method ?? 'GET').toUpperCase();
    const response = await base(url, { ...init, headers });
    if (response.status >= 400) {
      if (method === 'POST') throw await UpstreamHttpError.from(response, method, String(url), secrets);
      // GET /mcp answers 405 on stateless servers, which the SDK expects; a refused GET /sse is kept for the error.
      if (response.status !== 405)
        state.lastGetRejection = await UpstreamHttpError.from(response.clone(), method, String(url), secrets);
      return response;
    }
    const eventStream = response.headers.get('content-type')?.toLowerCase().startsWith('text/event-stream');
    return method === 'POST' && eventStream && response.body
      ? watchBody(response, state.onResponseStreamBreak)
      : response;
  };
}

/**
 * The response with its body re-streamed so that a read error (connection cut while the server was
 * still answering) is noticed. The SDK would only report it through `onerror`, with the same text as
 * for its standalone GET stream, which it reconnects on its own; a POST's stream is not resumed
 * here (the governed server keeps no event store), so its request would wait for its timeout.
 */
function watchBody(response: Response, onBreak: () => void): Response {
  const reader = response.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        onBreak();
        controller.error(err);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * The SDK resolves a response synchronously but handles notifications a microtask later, so progress
 * notifications that arrive in the same chunk as the response would find their handler already gone.
 * Delivering responses one macrotask later lets every earlier notification run first.
 */
function deliverResponsesLast(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message))
      setImmediate(() => deliver(message, extra));
    else deliver(message, extra);
  };
}

function cancelled(): McpCallError {
  return new McpCallError('cancelled', 'CANCELLED', 'The call was cancelled while waiting for an MCP client.');
}

function poolClosed(): McpCallError {
  return new McpCallError(
    'transient',
    'UPSTREAM_UNAVAILABLE',
    'The MCP client pool is closed (the worker is stopping).',
  );
}

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
// Types only: the server itself is a development dependency, loaded when a store has no endpoint.
import type { createHttpServer } from '@vercel/cosmosdb-server';

export interface EmbeddedCosmos {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts the in-process Cosmos-compatible server on loopback. It speaks the Cosmos REST protocol,
 * so the real `@azure/cosmos` client is used against it; state lives in memory for the process.
 * It does not expire items by TTL (real Cosmos DB does). Its query engine is patched to run in
 * linear time (see `patchQueryEngine`).
 */
export async function startEmbeddedCosmos(options: { port?: number; host?: string } = {}): Promise<EmbeddedCosmos> {
  const { createHttpServer } = await loadEmbeddedServer();
  patchQueryEngine();
  const server = // Keep-alive: without it every Cosmos request opens a new connection, which cost a quarter of the
    // MCP server's throughput in the benchmark.
    createHttpServer({ keepAlive: true } as Parameters<typeof createHttpServer>[0]);
  // Longer than the Cosmos client's idle reuse window, so the server never closes a kept-alive
  // connection just as the client reuses it (seen as a rare failed create under load).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * The embedded server is a development dependency of this package, so production images (installed
 * with `npm ci --omit=dev`) do not carry it: there a store needs COSMOS_ENDPOINT, and without one the
 * process stops with this explanation rather than a bare module-not-found.
 */
async function loadEmbeddedServer(): Promise<{ createHttpServer: typeof createHttpServer }> {
  try {
    return await import('@vercel/cosmosdb-server');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes('@vercel/cosmosdb-server')) {
      throw new Error(
        'COSMOS_ENDPOINT is not set and the embedded Cosmos-compatible server (@vercel/cosmosdb-server, a ' +
          'development dependency) is not installed, as in the production images: set COSMOS_ENDPOINT and ' +
          'COSMOS_KEY to an Azure Cosmos DB account.',
        { cause: error },
      );
    }
    throw error;
  }
}

// ---- Linear query rows ------------------------------------------------------------------------
//
// @vercel/cosmosdb-server runs queries with @zeit/cosmosdb-query, which compiles SQL to JavaScript
// that builds its row list with `rows.reduce(($, doc) => [...$, row], [])`: every step copies the
// accumulator, so a query over n documents costs O(n²) whatever its WHERE clause (a count over
// 45,000 orders took 18 s). The patch hands the executor its documents as `LinearRows`, an Array
// whose `reduce` with an empty-array initial value calls the callback with a fresh empty
// accumulator for each element and concatenates the results: O(n).
//
// That is only equivalent when each such callback is append-only, i.e. returns the accumulator's
// elements followed by zero or more new ones, and otherwise depends only on the element. Audited
// in @zeit/cosmosdb-query 0.7.2, the only reduce calls with an empty-array initial value are:
//   - transformer.js `from_specification` (FROM and each JOIN):
//     `($, doc) => [...$, ...(expr || []).map(...)]` and `($, doc) => (typeof expr !== 'undefined' ? [...$, { ...doc, alias: expr }] : $)`;
//   - helpers.js `stripUndefined`: `(o, v) => (typeof v !== 'undefined' ? [...o, stripUndefined(v)] : o)`;
//   - builtin-functions.js `ARRAY_CONCAT`: `(b, c) => [...b, ...c]` (over its arguments, a plain array).
// All are append-only. The other reduce calls (SUM, MIN, MAX, the transformer's own compile-time
// reduce, the object branch of stripUndefined) start from 0, undefined, null or {} and keep the
// ordinary Array.prototype.reduce. `Symbol.species` keeps the arrays that filter/map/slice/sort derive
// from the documents LinearRows too, so JOIN chains and stripUndefined over results are linear.
// The patch is applied only to the audited version; the executor's result is handed back to the
// server as plain arrays, so LinearRows never leaves the query engine.

/** The version whose executor was audited for append-only reduce callbacks. */
const AUDITED_QUERY_ENGINE_VERSION = '0.7.2';
const PATCHED = Symbol.for('mcp-broker.store.linear-query-rows');

type AppendOnlyReducer<T> = (accumulator: unknown[], value: T, index: number, array: T[]) => unknown[];

/**
 * An array whose `reduce(fn, [])` is linear: see the comment above. Any other reduce (no initial
 * value, or a non-empty or non-array one) is the ordinary one.
 */
export class LinearRows<T> extends Array<T> {
  static override get [Symbol.species](): ArrayConstructor {
    return LinearRows as unknown as ArrayConstructor;
  }

  override reduce(callbackfn: (previous: T, current: T, index: number, array: T[]) => T): T;
  override reduce(callbackfn: (previous: T, current: T, index: number, array: T[]) => T, initialValue: T): T;
  override reduce<U>(callbackfn: (previous: U, current: T, index: number, array: T[]) => U, initialValue: U): U;
  override reduce(
    ...args: [callbackfn: (previous: never, current: T, index: number, array: T[]) => unknown, initialValue?: unknown]
  ): unknown {
    const [callbackfn, initialValue] = args;
    if (args.length < 2 || !Array.isArray(initialValue) || initialValue.length !== 0) {
      return (Array.prototype.reduce as (...a: unknown[]) => unknown).apply(this, args);
    }
    const fn = callbackfn as unknown as AppendOnlyReducer<T>;
    const out = new LinearRows<unknown>();
    for (let i = 0; i < this.length; i += 1) {
      const appended = fn([], this[i] as T, i, this);
      if (!Array.isArray(appended)) throw new TypeError('LinearRows.reduce: the reducer must return an array');
      for (const row of appended) out.push(row);
    }
    return out;
  }
}

type QueryExecutor = (collection: unknown[], options: Record<string, unknown>) => unknown;
interface ExecutorModule {
  default: QueryExecutor;
  [PATCHED]?: QueryExecutor;
}

/** Whether the linear-rows patch is in effect, and why not when it is not. */
export interface QueryEnginePatch {
  applied: boolean;
  /** The installed @zeit/cosmosdb-query version. */
  version: string;
  /** The executor as shipped; for tests that compare the two. */
  original: QueryExecutor;
}

let patchState: QueryEnginePatch | undefined;

/**
 * Makes the embedded server's query engine linear in the container size by wrapping
 * @zeit/cosmosdb-query's executor (resolved from @vercel/cosmosdb-server, so it is the instance the
 * server uses). Idempotent; startEmbeddedCosmos calls it. Skipped, with a process warning, when the
 * installed version is not the audited one.
 */
export function patchQueryEngine(): QueryEnginePatch {
  if (patchState) return patchState;
  const requireFromServer = createRequire(import.meta.resolve('@vercel/cosmosdb-server'));
  const executor = requireFromServer('@zeit/cosmosdb-query/lib/executor') as ExecutorModule;
  const packageJsonPath = requireFromServer.resolve('@zeit/cosmosdb-query/package.json');
  const { version } = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { version: string };
  const already = executor[PATCHED];
  if (already) {
    patchState = { applied: true, version, original: already };
    return patchState;
  }
  const original = executor.default;
  if (version !== AUDITED_QUERY_ENGINE_VERSION) {
    process.emitWarning(
      `@zeit/cosmosdb-query ${version} is not the audited ${AUDITED_QUERY_ENGINE_VERSION}; ` +
        'the embedded Cosmos server keeps its quadratic query engine. Re-audit embedded-cosmos.ts and update the version.',
    );
    patchState = { applied: false, version, original };
    return patchState;
  }
  executor[PATCHED] = original;
  executor.default = (collection, options) => toPlainArrays(original(LinearRows.from(collection), options));
  patchState = { applied: true, version, original };
  return patchState;
}

/** The executor returns `{ result, continuation }`; hand `result` back as a plain array. */
function toPlainArrays(value: unknown): unknown {
  if (value && typeof value === 'object' && 'result' in value && value.result instanceof LinearRows) {
    return { ...value, result: Array.from(value.result) };
  }
  return value;
}

import { raceAbort } from '@mcp-broker/resilience';
import { type ListToolsResult, ListToolsResultSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { McpClientPool, PoolKey } from './client-pool.ts';
import { McpCallError } from './mcp-call-error.ts';
import { upstreamRequest } from './upstream-request.ts';

/** One reason the arguments do not fit the tool: the field (dotted path) and what is wrong with it. */
export interface ArgumentProblem {
  /** Dotted path (`customer.id`, `items.0.sku`); `(arguments)` for the object itself; `tool` for an unknown tool. */
  field: string;
  problem: string;
}

export interface ToolCatalogOptions {
  pool: McpClientPool;
  /** How long a listing is used before it is fetched again, in ms. Default 60,000. */
  ttlMs?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
}

interface Listing {
  tools: readonly Tool[];
  byName: ReadonlyMap<string, Tool>;
  fetchedAt: number;
  /** Compiled input schemas; `null` when a schema cannot be compiled (the server still validates). */
  validators: Map<string, ValidateFunction | null>;
}

/** Safety net against a server that keeps returning cursors. */
const MAX_PAGES = 100;

// ajv-formats is CommonJS; its default export arrives as `module.exports` or wrapped once.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv | Ajv2020,
) => void;

/**
 * The tools each (caller, endpoint) may use, from `tools/list` with that caller's identity (the
 * governed server lists only the tools the identity may call), cached for `ttlMs`. Concurrent
 * lookups share one refresh. When a refresh fails for a transient reason and an older listing
 * exists, the older listing is used (and the next lookup tries again).
 *
 * `validateArguments` lets the broker's ingress refuse bad input at submission, naming each field,
 * before anything is queued; the server validates again when the tool is called.
 */
export class ToolCatalog {
  readonly #pool: McpClientPool;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #listings = new Map<string, Listing>();
  readonly #inFlight = new Map<string, Promise<Listing>>();
  #ajv2020: Ajv2020 | undefined;
  #ajv07: Ajv | undefined;

  constructor(options: ToolCatalogOptions) {
    this.#pool = options.pool;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The tools this caller may use on this endpoint. */
  async list(key: PoolKey, options: { signal?: AbortSignal; refresh?: boolean } = {}): Promise<readonly Tool[]> {
    return (await this.#listing(key, options)).tools;
  }

  /** One tool by name, or `undefined` when the caller may not use it (or it does not exist). */
  async find(key: PoolKey, name: string, options: { signal?: AbortSignal } = {}): Promise<Tool | undefined> {
    return (await this.#listing(key, options)).byName.get(name);
  }

  /**
   * Checks that `tool` exists for this caller and that `args` fit its input schema (JSON Schema,
   * 2020-12 unless the schema declares draft-07). Returns every problem; an empty list means valid.
   * Throws `McpCallError` only when the tool list cannot be obtained at all.
   */
  async validateArguments(
    key: PoolKey,
    tool: string,
    args: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<ArgumentProblem[]> {
    const listing = await this.#listing(key, options);
    const definition = listing.byName.get(tool);
    if (!definition) {
      const known = [...listing.byName.keys()].sort();
      return [
        {
          field: 'tool',
          problem: `unknown tool "${tool}" for caller "${key.caller}" on endpoint "${key.endpoint}"; available: ${known.join(', ') || '(none)'}`,
        },
      ];
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      return [{ field: '(arguments)', problem: 'must be an object' }];
    }
    const validate = this.#validator(listing, definition);
    if (!validate || validate(args)) return [];
    return toProblems(validate.errors ?? []);
  }

  /** Forgets the listing of one key, or of all keys. */
  invalidate(key?: PoolKey): void {
    if (key) this.#listings.delete(keyId(key));
    else this.#listings.clear();
  }

  async #listing(key: PoolKey, options: { signal?: AbortSignal; refresh?: boolean }): Promise<Listing> {
    const id = keyId(key);
    const cached = this.#listings.get(id);
    if (cached && !options.refresh && this.#now() - cached.fetchedAt < this.#ttlMs) return cached;
    let pending = this.#inFlight.get(id);
    if (!pending) {
      pending = this.#fetch(key).finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, pending);
    }
    try {
      return await raceAbort(pending, { signal: options.signal, onAbort: cancelledLookup });
    } catch (err) {
      if (cached && err instanceof McpCallError && err.retryable) return cached;
      throw err;
    }
  }

  async #fetch(key: PoolKey): Promise<Listing> {
    const what = `tools/list on endpoint "${key.endpoint}" for caller "${key.caller}"`;
    const { value: tools } = await upstreamRequest({ pool: this.#pool, key, what }, async (client) => {
      const all: Tool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result: ListToolsResult = await client.request(
          { method: 'tools/list', params: cursor ? { cursor } : {} },
          ListToolsResultSchema,
        );
        all.push(...result.tools);
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      return all;
    });
    const listing: Listing = {
      tools,
      byName: new Map(tools.map((t) => [t.name, t])),
      fetchedAt: this.#now(),
      validators: new Map(),
    };
    this.#listings.set(keyId(key), listing);
    return listing;
  }

  #validator(listing: Listing, tool: Tool): ValidateFunction | null {
    const cached = listing.validators.get(tool.name);
    if (cached !== undefined) return cached;
    let validate: ValidateFunction | null;
    try {
      const { $schema, ...schema } = tool.inputSchema as Record<string, unknown>;
      const draft07 = typeof $schema === 'string' && /draft-0[4-7]/.test($schema);
      validate = (draft07 ? this.#draft07() : this.#draft2020()).compile(schema);
    } catch {
      validate = null;
    }
    listing.validators.set(tool.name, validate);
    return validate;
  }

  #draft2020(): Ajv2020 {
    if (!this.#ajv2020) {
      this.#ajv2020 = new Ajv2020({ allErrors: true, strict: false, logger: false });
      addFormats(this.#ajv2020);
    }
    return this.#ajv2020;
  }

  #draft07(): Ajv {
    if (!this.#ajv07) {
      this.#ajv07 = new Ajv({ allErrors: true, strict: false, logger: false });
      addFormats(this.#ajv07);
    }
    return this.#ajv07;
  }
}

/** Ajv errors as `{ field, problem }`, with the field named the way the server names it. */
export function toProblems(errors: readonly ErrorObject[]): ArgumentProblem[] {
  const seen = new Set<string>();
  const problems: ArgumentProblem[] = [];
  // zod emits a regex next to `format` (email, uuid…); the format says the same thing readably.
  const formatted = new Set(errors.filter((e) => e.keyword === 'format').map((e) => e.instancePath));
  for (const error of errors) {
    if (error.keyword === 'pattern' && formatted.has(error.instancePath)) continue;
    const path = error.instancePath
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
    let problem = error.message ?? 'is invalid';
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
      path.push(params.missingProperty);
      problem = 'is required';
    } else if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      path.push(params.additionalProperty);
      problem = 'is not a known field';
    } else if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      problem = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (error.keyword === 'const') {
      problem = `must be ${JSON.stringify(params.allowedValue)}`;
    }
    const field = path.join('.') || '(arguments)';
    const id = `${field}\u0000${problem}`;
    if (seen.has(id)) continue;
    seen.add(id);
    problems.push({ field, problem });
  }
  return problems;
}

function keyId(key: PoolKey): string {
  return `${key.caller}\u0000${key.endpoint}`;
}

function cancelledLookup(): McpCallError {
  return new McpCallError('cancelled', 'CANCELLED', 'The tool list lookup was cancelled.');
}

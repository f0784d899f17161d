import type { DatabricksWorkspaceConfig } from '@mcp-broker/broker-config';
import { parseRetryAfter } from '@mcp-broker/resilience';
import { classifyDatabricksError, clip, DatabricksApiError } from './databricks-api-error.ts';
import { type WorkspaceTokenOptions, type WorkspaceTokens, workspaceTokens } from './workspace-token.ts';

export interface WorkspaceRequest {
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  /** Names the request in error messages. Default `<method> <path>`. */
  what?: string;
}

/**
 * One configured workspace: authenticated JSON requests to its REST APIs. A request whose token
 * is refused (401/403) with an OAuth token is sent once more with a fresh token; every failure
 * leaves as a classified `DeliveryError` (`classifyDatabricksError`).
 */
export class DatabricksWorkspace {
  readonly config: DatabricksWorkspaceConfig;
  readonly #tokens: WorkspaceTokens;
  readonly #fetch: typeof fetch;
  readonly #host: string;

  constructor(config: DatabricksWorkspaceConfig, options: WorkspaceTokenOptions) {
    this.config = config;
    this.#tokens = workspaceTokens(config, options);
    this.#fetch = options.fetch ?? fetch;
    this.#host = config.host.replace(/\/+$/, '');
  }

  get id(): string {
    return this.config.id;
  }

  get caller(): string {
    return this.config.caller;
  }

  async request<T>(method: 'GET' | 'POST', path: string, request: WorkspaceRequest = {}): Promise<T> {
    const what = request.what ?? `${method} ${path}`;
    try {
      try {
        return await this.#send<T>(method, path, request, false);
      } catch (error) {
        const refused = error instanceof DatabricksApiError && (error.status === 401 || error.status === 403);
        if (!refused || !this.#tokens.refreshable) throw error;
        return await this.#send<T>(method, path, request, true);
      }
    } catch (error) {
      throw classifyDatabricksError(error, `Databricks workspace "${this.id}", ${what}`);
    }
  }

  async #send<T>(method: string, path: string, request: WorkspaceRequest, forceRefresh: boolean): Promise<T> {
    const signals = [AbortSignal.timeout(this.config.requestTimeoutMs), ...(request.signal ? [request.signal] : [])];
    const signal = AbortSignal.any(signals);
    const token = await this.#tokens.getToken({ signal, forceRefresh });
    const url = new URL(`${this.#host}${path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
    const response = await this.#fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        'user-agent': 'mcp-broker',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      signal,
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const body = (json ?? {}) as { error_code?: unknown; message?: unknown };
      throw new DatabricksApiError(
        response.status,
        typeof body.error_code === 'string' ? body.error_code : undefined,
        typeof body.message === 'string' ? body.message : clip(text || response.statusText),
        parseRetryAfter(response.headers.get('retry-after')),
      );
    }
    return json as T;
  }
}

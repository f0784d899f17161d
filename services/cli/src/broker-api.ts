import { apiErrorSchema } from '@mcp-broker/contracts';
import type { z } from 'zod';
import { UsageError } from './usage-error.ts';

/** The ingress API refused or failed a request: its error code, status and request id. */
export class BrokerApiError extends Error {
  override readonly name = 'BrokerApiError';
  readonly code: string;
  readonly status: number;
  readonly requestId: string | undefined;

  constructor(code: string, status: number, message: string, requestId?: string) {
    super(message);
    this.code = code;
    this.status = status;
    this.requestId = requestId;
  }
}

export interface BrokerApiOptions {
  url: string;
  /** HTTP Basic (a Basic caller); the password comes from the environment only, never a flag. */
  user?: string | undefined;
  password?: string | undefined;
  /** A bearer token of a JWT caller. */
  token?: string | undefined;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * The ingress API as a caller (docs/async-api.md): every admin action goes through it, so the
 * CLI is held to the same authentication, admin check and record lifecycle as any client.
 */
export class BrokerApi {
  readonly url: string;
  readonly #authorization: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: BrokerApiOptions) {
    this.url = options.url.replace(/\/+$/, '');
    if (options.token) this.#authorization = `Bearer ${options.token}`;
    else if (options.user && options.password !== undefined)
      this.#authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    else
      throw new UsageError(
        'No credentials for the broker API: set MCP_BROKER_USER and MCP_BROKER_PASSWORD (a Basic caller) or MCP_BROKER_TOKEN (a JWT caller).',
      );
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<z.infer<S>> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.url}${path}`, {
        method,
        headers: {
          authorization: this.#authorization,
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new BrokerApiError('CLI_UNREACHABLE', 0, `Cannot reach the broker API at ${this.url} (${cause}).`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const error = apiErrorSchema.safeParse(body);
      if (error.success)
        throw new BrokerApiError(
          error.data.error.code,
          res.status,
          error.data.error.message,
          error.data.error.requestId,
        );
      throw new BrokerApiError('CLI_UNEXPECTED_ANSWER', res.status, `${method} ${path} answered ${res.status}.`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new BrokerApiError(
        'CLI_UNEXPECTED_ANSWER',
        res.status,
        `${method} ${path} answered a body the CLI does not understand: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  }
}

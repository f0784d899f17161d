import { parseRetryAfter } from '@mcp-broker/resilience';
import { redact } from './redact.ts';

/**
 * What the pool's fetch wrapper learns from an HTTP response that the SDK would reduce to text:
 * the status, `Retry-After`, and the JSON-RPC error in the body (the governed server and APIM
 * policies answer with a JSON-RPC envelope carrying the stable code in `error.data`).
 */
export class UpstreamHttpError extends Error {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  readonly rpcError: { code: number; message: string; data?: Record<string, unknown> } | undefined;

  constructor(
    status: number,
    message: string,
    options: { retryAfterMs?: number | undefined; rpcError?: UpstreamHttpError['rpcError'] } = {},
  ) {
    super(message);
    this.name = 'UpstreamHttpError';
    this.status = status;
    this.retryAfterMs = options.retryAfterMs;
    this.rpcError = options.rpcError;
  }

  /** Reads a non-2xx response (consuming its body), removing `secrets` should the body echo one. */
  static async from(
    response: Response,
    method: string,
    url: string,
    secrets: readonly (string | undefined)[] = [],
  ): Promise<UpstreamHttpError> {
    const text = redact(await response.text().catch(() => ''), secrets);
    const rpcError = jsonRpcError(text);
    const retryAfterMs =
      parseRetryAfter(response.headers.get('retry-after')) ??
      (typeof rpcError?.data?.retryAfterSeconds === 'number' ? rpcError.data.retryAfterSeconds * 1000 : undefined);
    const reason = rpcError?.message ?? (text.trim().slice(0, 200) || response.statusText);
    return new UpstreamHttpError(
      response.status,
      `${method} ${safeUrl(url)} answered HTTP ${response.status}: ${reason}`,
      {
        retryAfterMs,
        rpcError,
      },
    );
  }
}

function jsonRpcError(text: string): UpstreamHttpError['rpcError'] {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; data?: unknown } };
    const error = body?.error;
    if (!error || typeof error.code !== 'number') return undefined;
    return {
      code: error.code,
      message: typeof error.message === 'string' ? error.message : '',
      ...(error.data && typeof error.data === 'object' && !Array.isArray(error.data)
        ? { data: error.data as Record<string, unknown> }
        : {}),
    };
  } catch {
    return undefined;
  }
}

/** The URL without query (a session id or a key in a query string stays out of messages). */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(url)';
  }
}

/** `fetch failed` says nothing; the cause (ECONNREFUSED, timeout…) says what happened. */
export function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'the request timed out';
    const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
    if (cause && typeof cause.code === 'string') return `${err.message} (${cause.code})`;
    if (cause && typeof cause.message === 'string') return `${err.message} (${cause.message})`;
    return err.message;
  }
  return String(err);
}

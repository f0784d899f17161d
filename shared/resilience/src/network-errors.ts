/**
 * Socket-level failures (Node and undici) that mean the peer could not be reached or went away
 * mid-request: worth trying again, and no sign the request itself was wrong.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

// SDKs wrap the socket error (undici's `TypeError("fetch failed")`, sometimes one level deeper).
const MAX_CAUSE_DEPTH = 5;

/**
 * The network error code of `err` or its `cause` chain, if it is a network failure. undici's
 * `fetch failed` / `terminated` with no known code below it still counts (the socket went away);
 * the answer is then that message.
 */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  let undiciMessage: string | undefined;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current && typeof current === 'object'; depth += 1) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    if (current instanceof Error && (message === 'fetch failed' || message === 'terminated')) undiciMessage ??= message;
    current = cause;
  }
  return undiciMessage;
}

export function isNetworkError(err: unknown): boolean {
  return networkErrorCode(err) !== undefined;
}

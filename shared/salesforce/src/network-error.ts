export { networkErrorCode } from '@mcp-broker/resilience';

/** jsforce's own request timeout (`Error("Request Timeout")`) and aborted fetches. */
export function isTimeoutError(error: unknown): boolean {
  if (!(error instanceof Error) && !(error instanceof DOMException)) return false;
  return error.name === 'AbortError' || error.name === 'TimeoutError' || error.message === 'Request Timeout';
}

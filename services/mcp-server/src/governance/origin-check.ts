import { isIP } from 'node:net';
import { BrokerError } from '@mcp-broker/contracts';

/**
 * DNS-rebinding protection: a browser always sends `Origin`, so a request that carries one must
 * come from an allowed origin. Server-to-server callers (APIM, Apex, workers) send none and pass.
 *
 * With no allowed origins configured, a server that listens on loopback only also lets local
 * origins through (`http(s)://localhost`, `127.0.0.1`, `[::1]`, any port): only software on this
 * machine can be one, which is what a local MCP Inspector or IDE is, while a rebound foreign name
 * (`http://evil.example` resolving to 127.0.0.1) still carries its own origin and is refused.
 * Once `ALLOWED_ORIGINS` is set, it is the whole list.
 */
export function checkOrigin(
  origin: string | undefined,
  allowedOrigins: readonly string[],
  loopbackOnly: boolean,
): void {
  if (origin === undefined) return;
  if (allowedOrigins.includes(origin)) return;
  if (allowedOrigins.length === 0 && loopbackOnly && isLocalOrigin(origin)) return;
  throw new BrokerError('BROKER_ORIGIN_FORBIDDEN', `Origin "${truncate(origin)}" is not in the allowed origins list.`, {
    details: { origin: truncate(origin) },
  });
}

/** True when every address the server listens on is a loopback address. */
export function listensOnLoopbackOnly(addresses: readonly (string | { address: string })[]): boolean {
  // A string is a pipe or socket path: not an IP listener, so not known to be loopback.
  return addresses.length > 0 && addresses.every((a) => typeof a !== 'string' && isLoopbackAddress(a.address));
}

function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  const lower = address.toLowerCase();
  return lower === '::1' || lower.startsWith('::ffff:127.');
}

function isLocalOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  // An origin is scheme, host and port only; anything more is not a browser's Origin.
  if (url.origin !== origin) return false;
  return url.hostname === 'localhost' || url.hostname === '[::1]' || url.hostname === '127.0.0.1';
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}

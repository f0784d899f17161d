import { BrokerError } from '@mcp-broker/contracts';

/**
 * DNS-rebinding protection: a browser always sends `Origin`, so a request that carries one must
 * come from an allowed origin. Server-to-server callers (APIM, Apex, workers) send none and pass.
 */
export function checkOrigin(origin: string | undefined, allowedOrigins: readonly string[]): void {
  if (origin === undefined) return;
  if (allowedOrigins.includes(origin)) return;
  throw new BrokerError('BROKER_ORIGIN_FORBIDDEN', `Origin "${truncate(origin)}" is not in the allowed origins list.`, {
    details: { origin: truncate(origin) },
  });
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}

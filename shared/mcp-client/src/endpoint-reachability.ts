import type { EndpointConfig } from '@mcp-broker/broker-config';
import { networkErrorCode, raceAbort } from '@mcp-broker/resilience';

export interface EndpointReachabilityOptions {
  fetch?: typeof fetch;
  /** How long one probe may take; readiness probes must answer at once. Default 1000 ms. */
  timeoutMs?: number;
}

/** Statuses a gateway (APIM, a load balancer) answers when the MCP server behind it is down. */
const GATEWAY_DOWN = new Set([502, 503, 504]);

/**
 * One readiness check per configured MCP endpoint (`mcp:<id>`): a plain GET without credentials.
 * Any answer but a gateway's "backend down" means the server is there (401 or 405 are expected:
 * no token is sent, so no token is spent and no call is made); a refused connection, a DNS failure
 * or no answer within the budget is the reason the check gives.
 */
export function endpointReachabilityChecks(
  endpoints: Readonly<Record<string, EndpointConfig>>,
  options: EndpointReachabilityOptions = {},
): Record<string, () => Promise<void>> {
  const fetcher = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 1000;
  return Object.fromEntries(
    Object.entries(endpoints).map(([id, endpoint]) => [
      `mcp:${id}`,
      async () => {
        const host = new URL(endpoint.url).host;
        const controller = new AbortController();
        let timedOut = false;
        let res: Response;
        try {
          res = await raceAbort(fetcher(endpoint.url, { method: 'GET', signal: controller.signal }), {
            timeoutMs,
            onTimeout: () => {
              timedOut = true;
              controller.abort();
              return new Error(`MCP endpoint ${id} (${host}) did not answer within ${timeoutMs} ms`);
            },
          });
        } catch (err) {
          if (timedOut) throw err;
          throw new Error(
            `MCP endpoint ${id} (${host}) is unreachable (${networkErrorCode(err) ?? (err as Error).message})`,
          );
        }
        // A Streamable HTTP GET may open an event stream: only the status line is needed.
        await res.body?.cancel().catch(() => {});
        if (GATEWAY_DOWN.has(res.status)) throw new Error(`MCP endpoint ${id} (${host}) answered ${res.status}`);
      },
    ]),
  );
}

import type { ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Logger } from 'pino';
import type { CancellationRelay } from './cancellation-relay.ts';
import type { SseSessionRelay } from './sse-session-relay.ts';

/** What the transport routes need from the server assembly. */
export interface McpRouteDeps {
  /** A fresh protocol server (cheap); one per request or per SSE session. */
  createProtocolServer(): Server;
  relay: SseSessionRelay;
  cancellations: CancellationRelay;
  logger: Logger;
  /** Path prefix of the public URL (for example `/mcp-api` behind APIM), so SSE endpoints resolve. */
  basePath: string;
  /** Open SSE streams, ended on shutdown so the HTTP server can close. */
  openStreams: Set<ServerResponse>;
  /** Interval of `: keep-alive` comments on SSE streams. */
  keepAliveMs: number;
  /** Longest a request may wait for the SDK's answer before the exchange is ended with an error. */
  exchangeTimeoutMs: number;
  /** `WWW-Authenticate` for a caller lacking the given space-separated permissions. */
  insufficientScopeChallenge(scope: string): string;
}

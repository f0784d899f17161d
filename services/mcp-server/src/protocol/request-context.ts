import type { Identity } from '@mcp-broker/contracts';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

/** Which wire the call arrived on; recorded in audit records. */
export type TransportKind = 'streamable-http' | 'sse' | 'json-rpc';

/** What the governance pipeline learned about a request, handed to the MCP handlers. */
export interface RequestContext {
  identity: Identity;
  requestId: string;
  traceId: string | undefined;
  transport: TransportKind;
  /**
   * The `MCP-Protocol-Version` the client sent with this HTTP request, when well-formed. Streamable
   * HTTP clients send the negotiated version on every request after `initialize`.
   */
  protocolVersion?: string | undefined;
}

/**
 * The SDK carries per-message auth through `AuthInfo`. The token field is left empty on purpose:
 * handlers and tools never see the caller's token, so nothing can forward it.
 */
export function toAuthInfo(context: RequestContext): AuthInfo {
  return {
    token: '',
    clientId: context.identity.clientAppId ?? context.identity.subject,
    scopes: context.identity.permissions,
    extra: { context },
  };
}

export function fromAuthInfo(authInfo: AuthInfo | undefined): RequestContext | undefined {
  const context = authInfo?.extra?.context;
  return context && typeof context === 'object' ? (context as RequestContext) : undefined;
}

export { type AzureCredentialConfig, createAzureCredential } from './azure-credential.ts';
export { type BrokerUpstream, type BrokerUpstreamOptions, createBrokerUpstream } from './broker-upstream.ts';
export { type CallToolOptions, type CallToolOutcome, callTool } from './call-tool.ts';
export { type Classified, classifyError } from './classify-error.ts';
export { tokenExpiry } from './client-credentials.ts';
export {
  type ClientLease,
  McpClientPool,
  type McpClientPoolOptions,
  type PoolKey,
  type PoolStats,
  type PoolTarget,
} from './client-pool.ts';
export { type EndpointReachabilityOptions, endpointReachabilityChecks } from './endpoint-reachability.ts';
export {
  isMcpCallError,
  McpCallError,
  type McpCallErrorCode,
  type McpCallErrorKind,
  type McpCallErrorOptions,
} from './mcp-call-error.ts';
export { type IssuedToken, TokenCache, type TokenCacheOptions, type TokenSource } from './token-cache.ts';
export {
  createTokenProvider,
  type GetTokenOptions,
  type TokenProvider,
  type TokenProviderOptions,
} from './token-provider.ts';
export { type ArgumentProblem, ToolCatalog, type ToolCatalogOptions } from './tool-catalog.ts';
export { UpstreamHttpError } from './upstream-http.ts';
export { type UpstreamRequestOptions, upstreamRequest } from './upstream-request.ts';

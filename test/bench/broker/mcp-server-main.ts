/**
 * Broker benchmark child: the governed MCP server serving only the benchmark's echo tool, on a free
 * port. Env: BENCH_ISSUER, BENCH_COSMOS_ENDPOINT, BENCH_COSMOS_KEY, BENCH_DATABASE, BENCH_REDIS_URL,
 * BENCH_REDIS_PREFIX, BENCH_LOG_LEVEL. Logs go to stdout (a file the runner chose).
 */
import { runGovernedChild } from '../mcp/governed-child.ts';
import { BENCH_RESOURCE, echoTool } from './echo-tool.ts';

await runGovernedChild({
  envPrefix: 'BENCH',
  tools: [echoTool],
  resource: BENCH_RESOURCE,
  port: 0,
  defaultLogLevel: 'info',
});

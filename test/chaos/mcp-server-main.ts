/**
 * Chaos child: the governed MCP server serving only the recording tool, on a fixed port so that a
 * restarted server keeps the URL the broker configuration names. Env: CHAOS_PORT, CHAOS_ISSUER,
 * CHAOS_COSMOS_ENDPOINT, CHAOS_COSMOS_KEY, CHAOS_DATABASE, CHAOS_REDIS_URL, CHAOS_REDIS_PREFIX,
 * CHAOS_INVOCATION_LOG, CHAOS_LOG_LEVEL.
 */
import { runGovernedChild } from '../bench/mcp/governed-child.ts';
import { requiredEnv } from '../bench/mcp/ipc.ts';
import { CHAOS_RESOURCE, recordingTool } from './recording-tool.ts';

await runGovernedChild({
  envPrefix: 'CHAOS',
  tools: [recordingTool(requiredEnv('CHAOS_INVOCATION_LOG'))],
  resource: CHAOS_RESOURCE,
  port: Number(requiredEnv('CHAOS_PORT')),
  defaultLogLevel: 'warn',
});

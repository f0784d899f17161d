import { defineTool } from '@mcp-broker/mcp-server';
import { z } from 'zod';

/** The trivial tool every path of the broker benchmark calls. */
export const ECHO_TOOL_NAME = 'bench_echo';
/** The app role the tool requires; the dev OAuth server puts it in the caller's upstream token. */
export const ECHO_PERMISSION = 'Bench.Echo';
/** Token audience of the benchmark's MCP server. */
export const BENCH_RESOURCE = 'api://mcp-broker-bench';

/**
 * Returns its message. No I/O and nothing to await: the handler's own time is microseconds, so
 * whatever a call costs beyond that is the path to and from the tool (governance, transport, and on
 * the broker path ingress, queue, worker and write-back).
 */
export const echoTool = defineTool({
  name: ECHO_TOOL_NAME,
  title: 'Echo (benchmark)',
  description: 'Returns the message it is given.',
  inputSchema: z.object({ message: z.string().min(1).max(200) }),
  outputSchema: z.object({ echoed: z.string() }),
  requiredPermissions: [ECHO_PERMISSION],
  timeoutMs: 10_000,
  handler: async ({ message }) => ({ echoed: message }),
});

/** The message of the n-th call of a phase: unique, so results can be matched to their calls. */
export function echoMessage(phase: string, n: number): string {
  return `${phase}-${n}`;
}

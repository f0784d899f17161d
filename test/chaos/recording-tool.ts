import { appendFileSync, readFileSync } from 'node:fs';
import { defineTool } from '@mcp-broker/mcp-server';
import { z } from 'zod';

export const RECORD_TOOL_NAME = 'chaos_record';
export const RECORD_PERMISSION = 'Chaos.Record';
export const CHAOS_RESOURCE = 'api://mcp-broker-chaos';

/**
 * The tool every chaos call runs: it appends its token to the invocation log *before* it does
 * anything else (synchronously, so a SIGKILL of the MCP server right after still leaves the line),
 * waits `delayMs` so that faults land while calls are in flight, and echoes the token.
 * The log outlives MCP server restarts; the runner counts invocations per token from it.
 */
export function recordingTool(logFile: string) {
  return defineTool({
    name: RECORD_TOOL_NAME,
    title: 'Record an invocation (chaos suite)',
    description: 'Records that it ran, waits a moment, and returns its token.',
    inputSchema: z.object({ token: z.string().min(1).max(200), delayMs: z.number().int().min(0).max(5_000) }),
    outputSchema: z.object({ token: z.string() }),
    requiredPermissions: [RECORD_PERMISSION],
    timeoutMs: 30_000,
    handler: async ({ token, delayMs }, ctx) => {
      appendFileSync(logFile, `${token}\n`);
      if (delayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, delayMs);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          });
        });
      }
      return { token };
    },
  });
}

/** Invocations per token so far. */
export function readInvocations(logFile: string): Map<string, number> {
  const counts = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n')) {
    if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return counts;
}

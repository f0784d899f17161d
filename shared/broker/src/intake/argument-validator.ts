import type { CallerConfig } from '@mcp-broker/broker-config';

export type ArgumentProblems =
  | { kind: 'ok' }
  | { kind: 'unknown_tool' }
  | { kind: 'invalid'; fields: { field: string; problem: string }[] };

/**
 * Checks a tool call against the endpoint's own `tools/list` (cached), as the caller sees it, so
 * bad input is refused at submission instead of failing later in the worker.
 */
export interface ArgumentValidator {
  validate(caller: CallerConfig, tool: string, args: Record<string, unknown>): Promise<ArgumentProblems>;
}

import type { Identity } from '@mcp-broker/contracts';
import type { Store } from '@mcp-broker/store';
import type { Logger } from 'pino';
import type { z } from 'zod';

/** What a tool handler receives besides its arguments. It never sees the caller's token. */
export interface ToolContext {
  /** The verified caller. */
  identity: Identity;
  requestId: string;
  /** Child logger bound to the request id and tool name. */
  logger: Logger;
  /** Aborted on client cancellation (`notifications/cancelled`) or when the tool's timeout passes. */
  signal: AbortSignal;
  /** Reports MCP progress; a no-op when the client sent no progress token. */
  progress(update: { progress: number; total?: number; message?: string }): Promise<void>;
  store: Store;
}

/**
 * One tool, in one module. The registry exposes `inputSchema`/`outputSchema` as JSON Schema in
 * `tools/list`, validates arguments before the handler runs, and enforces permissions and timeout.
 */
export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject, Output extends z.ZodObject = z.ZodObject> {
  /** snake_case tool name, unique in the registry. */
  name: string;
  /** Short human title. */
  title: string;
  /** What the tool does, for the model and for people reading `tools/list`. */
  description: string;
  inputSchema: Input;
  outputSchema: Output;
  /** Every one of these must be among the caller's permissions (scp, roles or scope). */
  requiredPermissions: readonly string[];
  /** Handler budget in milliseconds; past it the signal aborts and the call fails with a timeout. */
  timeoutMs: number;
  /**
   * Returns the structured result; the registry adds a text rendering. Throw `ToolError` for a
   * failure the caller should read (an MCP result with `isError: true`).
   */
  handler(args: z.infer<Input>, context: ToolContext): Promise<z.infer<Output>>;
  /** False for tools that write (contracts, memory); shown as MCP's `readOnlyHint`. Default true. */
  readOnly?: boolean;
  /** Optional text rendering of the result; defaults to pretty JSON. */
  renderText?(result: z.infer<Output>): string;
}

/** A tool failure the caller should see as an `isError` result, not a protocol error. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

/** Identity helper for type inference at definition sites. */
export function defineTool<Input extends z.ZodObject, Output extends z.ZodObject>(
  definition: ToolDefinition<Input, Output>,
): ToolDefinition<Input, Output> {
  return definition;
}

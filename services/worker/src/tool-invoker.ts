import type { FailureCode, FailureKind, ToolCallRecord } from '@mcp-broker/contracts';

/** What the MCP endpoint returned for a call (the MCP `CallToolResult`). */
export interface ToolResult {
  content?: unknown[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export type ProgressUpdate = { progress: number; total?: number; message?: string };

/** Why an upstream call failed, as the retry rules need it: the kind's retry class is the catalog's (`retryClassOfKind`). */
export interface InvocationFailure {
  kind: FailureKind;
  code: FailureCode;
  message: string;
  retryAfterMs?: number | undefined;
}

export function isInvocationFailure(err: unknown): err is Error & InvocationFailure {
  return err instanceof Error && typeof (err as { kind?: unknown }).kind === 'string' && 'code' in err;
}

/**
 * Calls the record's tool on its caller's behalf. The production implementation uses pooled MCP
 * clients and the caller's own upstream identity (`mcp-invoker.ts`).
 */
export interface ToolInvoker {
  invoke(
    record: ToolCallRecord,
    options: { signal: AbortSignal; onProgress: (p: ProgressUpdate) => void },
  ): Promise<ToolResult>;
}

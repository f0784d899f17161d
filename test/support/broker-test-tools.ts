import { defineTool, ToolError } from '@mcp-broker/mcp-server';
import { z } from 'zod';

/** How many times each test tool's handler ran, by a key from its arguments. */
export const invocations = new Map<string, number>();
const count = (key: string) => {
  const n = (invocations.get(key) ?? 0) + 1;
  invocations.set(key, n);
  return n;
};

export const countedEchoTool = defineTool({
  name: 'test_echo',
  title: 'Echo',
  description: 'Echoes its message; counts invocations per message.',
  inputSchema: z.object({ message: z.string().min(1).max(100) }),
  outputSchema: z.object({ echoed: z.string(), invocation: z.number() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 5000,
  handler: async ({ message }) => ({ echoed: message, invocation: count(`echo:${message}`) }),
});

/** Fails with an unexpected error (→ -32603, a transient failure) until it has run `failTimes` times. */
export const flakyTool = defineTool({
  name: 'test_flaky',
  title: 'Flaky',
  description: 'Crashes the first N times per key, then succeeds.',
  inputSchema: z.object({ key: z.string(), failTimes: z.number().int().min(0).max(20) }),
  outputSchema: z.object({ succeededOnInvocation: z.number() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 5000,
  handler: async ({ key, failTimes }) => {
    const n = count(`flaky:${key}`);
    if (n <= failTimes) throw new Error(`flaky failure ${n}`);
    return { succeededOnInvocation: n };
  },
});

export const failingTool = defineTool({
  name: 'test_fail',
  title: 'Fail',
  description: 'Always a tool error.',
  inputSchema: z.object({ key: z.string() }),
  outputSchema: z.object({}),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 5000,
  handler: async ({ key }) => {
    count(`fail:${key}`);
    throw new ToolError('This tool always fails; the reason is recorded.');
  },
});

/** Waits until cancelled; records starts and aborts. */
export const waits = { started: 0, aborted: 0 };
export const waitTool = defineTool({
  name: 'test_wait',
  title: 'Wait',
  description: 'Waits until cancelled.',
  inputSchema: z.object({ key: z.string() }),
  outputSchema: z.object({}),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 60_000,
  handler: (_args, ctx) =>
    new Promise((_resolve, reject) => {
      waits.started += 1;
      ctx.signal.addEventListener('abort', () => {
        waits.aborted += 1;
        reject(ctx.signal.reason);
      });
    }),
});

/** Reports progress, then answers. */
export const progressTool = defineTool({
  name: 'test_progress',
  title: 'Progress',
  description: 'Reports progress steps.',
  inputSchema: z.object({ steps: z.number().int().min(1).max(10) }),
  outputSchema: z.object({ steps: z.number() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 5000,
  handler: async ({ steps }, ctx) => {
    for (let i = 1; i <= steps; i++) await ctx.progress({ progress: i, total: steps, message: `step ${i}` });
    return { steps };
  },
});

/** A tool with its own tight per-tool rate limit on the MCP server (429 with Retry-After). */
export const limitedTool = defineTool({
  ...countedEchoTool,
  name: 'test_limited',
  title: 'Limited',
  description: 'Echo with a tight per-tool rate limit.',
  handler: async ({ message }) => ({ echoed: message, invocation: count(`limited:${message}`) }),
});

export const brokerTestTools = [countedEchoTool, flakyTool, failingTool, waitTool, progressTool, limitedTool];

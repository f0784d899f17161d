import { z } from 'zod';
import { defineTool, ToolError } from '../src/tools/tool-definition.ts';

/** How many times each counting test tool's handler ran (to prove a refused call never ran). */
export const invocations = { echo: 0, admin: 0 };

/** Test-only tools, registered through the same registry as product tools. */
export const echoTool = defineTool({
  name: 'test_echo',
  title: 'Echo',
  description: 'Returns its message.',
  inputSchema: z.object({ message: z.string().min(1).max(100), times: z.number().int().min(1).max(3).optional() }),
  outputSchema: z.object({ echoed: z.string(), subject: z.string() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 5_000,
  handler: async (args, ctx) => {
    invocations.echo += 1;
    return { echoed: args.message.repeat(args.times ?? 1), subject: ctx.identity.subject };
  },
});

/** How many waiting tools started, and how many saw their signal abort. */
export const waits = { started: 0, aborted: 0 };

/** Waits for its signal; ends only by timeout or cancellation. */
export const hangTool = defineTool({
  name: 'test_hang',
  title: 'Hang',
  description: 'Never finishes on its own.',
  inputSchema: z.object({}),
  outputSchema: z.object({ done: z.boolean() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 300,
  handler: (_args, ctx) =>
    new Promise((_resolve, reject) => {
      waits.started += 1;
      ctx.signal.addEventListener('abort', () => {
        waits.aborted += 1;
        reject(ctx.signal.reason);
      });
    }),
});

/** Like hang but with a long timeout, for cancellation tests. */
export const waitTool = defineTool({
  ...hangTool,
  name: 'test_wait',
  title: 'Wait',
  description: 'Waits until cancelled (60 s timeout).',
  timeoutMs: 60_000,
});

export const failTool = defineTool({
  name: 'test_fail',
  title: 'Fail',
  description: 'Always returns a tool error.',
  inputSchema: z.object({}),
  outputSchema: z.object({}),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 1_000,
  handler: async () => {
    throw new ToolError('The test tool failed on purpose.');
  },
});

export const crashTool = defineTool({
  name: 'test_crash',
  title: 'Crash',
  description: 'Throws an unexpected error.',
  inputSchema: z.object({}),
  outputSchema: z.object({}),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 1_000,
  handler: async () => {
    throw new Error('internal detail: connection string AccountKey=abc123');
  },
});

export const progressTool = defineTool({
  name: 'test_progress',
  title: 'Progress',
  description: 'Reports progress in steps.',
  inputSchema: z.object({ steps: z.number().int().min(1).max(20) }),
  outputSchema: z.object({ steps: z.number() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 5_000,
  handler: async (args, ctx) => {
    for (let i = 1; i <= args.steps; i++) await ctx.progress({ progress: i, total: args.steps, message: `step ${i}` });
    return { steps: args.steps };
  },
});

export const adminTool = defineTool({
  name: 'test_admin',
  title: 'Admin only',
  description: 'Needs an admin role.',
  inputSchema: z.object({}),
  outputSchema: z.object({ ok: z.boolean() }),
  requiredPermissions: ['Test.Admin'],
  timeoutMs: 1_000,
  handler: async () => {
    invocations.admin += 1;
    return { ok: true };
  },
});

export const testTools = [echoTool, hangTool, waitTool, failTool, crashTool, progressTool, adminTool];

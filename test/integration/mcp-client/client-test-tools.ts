import { defineTool } from '@mcp-broker/mcp-server';
import { z } from 'zod';
import { testTools } from '../../../services/mcp-server/test-support/test-tools.ts';

/** A tool with a nested input schema (formats, enums, arrays, bounds) for argument validation tests. */
export const orderTool = defineTool({
  name: 'test_order',
  title: 'Order',
  description: 'Accepts an order and echoes how many lines it had.',
  inputSchema: z.object({
    customer: z.object({ email: z.email(), tier: z.enum(['gold', 'silver']) }),
    lines: z.array(z.object({ sku: z.string().regex(/^SKU-\d+$/), quantity: z.number().int().min(1) })).min(1),
    note: z.string().max(20).optional(),
  }),
  outputSchema: z.object({ lines: z.number() }),
  requiredPermissions: ['Test.Echo'],
  timeoutMs: 1_000,
  handler: async (args) => ({ lines: args.lines.length }),
});

/** The MCP server's test tools plus this package's. */
export const clientTestTools = [...testTools, orderTool];

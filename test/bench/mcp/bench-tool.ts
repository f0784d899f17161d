import { defineTool, productTools, type ToolDefinition, ToolError } from '@mcp-broker/mcp-server';
import { z } from 'zod';

/** The product tool both servers expose and the benchmark calls. */
export const BENCH_TOOL_NAME = 'query_customer_data';

/**
 * A deliberately cheap tool (one point read) used only by the ablation runner, so the fixed
 * per-call cost of governance is not drowned by the product tool's five Cosmos round trips.
 */
export const pointReadTool = defineTool({
  name: 'bench_point_read',
  title: 'Read one customer (benchmark)',
  description: 'Reads one customer document by id.',
  inputSchema: z.object({ customer_id: z.string().regex(/^cus-\d{6}$/) }),
  outputSchema: z.object({ id: z.string(), name: z.string(), segment: z.string() }),
  requiredPermissions: ['Customers.Read'],
  timeoutMs: 10_000,
  async handler({ customer_id: id }, { store, signal }) {
    const { resource } = await store.container('customers').item(id, id).read({ abortSignal: signal });
    if (!resource) throw new ToolError(`No customer ${id}`);
    return { id: resource.id as string, name: resource.name as string, segment: resource.segment as string };
  },
});

/**
 * The tool definition a benchmark server exposes: the product tool from `productTools` unless
 * BENCH_TOOL names the ablation tool. Both servers call this very handler.
 */
export function benchTool(name = process.env.BENCH_TOOL ?? BENCH_TOOL_NAME): ToolDefinition {
  if (name === pointReadTool.name) return pointReadTool as unknown as ToolDefinition;
  const tool = productTools.find((t) => t.name === name);
  if (!tool) {
    throw new Error(`productTools has no "${name}" (services/mcp-server/src/tools/index.ts); the benchmark needs it.`);
  }
  return tool;
}

import { analyzeSalesDataTool } from './analyze-sales-data.ts';
import { queryCustomerDataTool } from './query-customer-data.ts';
import type { ToolDefinition } from './tool-definition.ts';

/** Every product tool, in the order `tools/list` shows them. */
export const productTools: readonly ToolDefinition[] = [queryCustomerDataTool, analyzeSalesDataTool];

import { analyzeSalesDataTool } from './analyze-sales-data.ts';
import { buildAccountPlanTool } from './build-account-plan.ts';
import { GENERATE_CONTRACT_PERMISSIONS } from './generate-contract.ts';
import { clearMemoryTool, recallMemoryTool, storeMemoryTool } from './memory-tools.ts';
import { nextBestActionTool } from './next-best-action.ts';
import { queryCustomerDataTool } from './query-customer-data.ts';
import { queryDataTool } from './query-data.ts';
import type { ToolDefinition } from './tool-definition.ts';

/**
 * Every product tool that needs nothing but the store, in the order `tools/list` shows them.
 * `generate_contract` needs document storage and a link signer, so `start.ts` adds it.
 */
export const productTools: readonly ToolDefinition[] = [
  queryCustomerDataTool,
  analyzeSalesDataTool,
  nextBestActionTool,
  queryDataTool,
  storeMemoryTool,
  recallMemoryTool,
  clearMemoryTool,
  buildAccountPlanTool,
];

/**
 * Every app role some tool of this server requires, sorted: what the Entra app registration must
 * define and APIM's coarse role gate must list.
 */
export const serverToolPermissions: readonly string[] = [
  ...new Set([...productTools.flatMap((t) => t.requiredPermissions), ...GENERATE_CONTRACT_PERMISSIONS]),
].sort();

import type { ToolDefinition } from './tool-definition.ts';

/** Every product tool, in the order `tools/list` shows them. */
export const productTools: readonly ToolDefinition[] = [];

export { type McpServerConfig, mcpServerConfigSchema } from './config.ts';
export { buildMcpServer, type McpServer, type McpServerOptions } from './server.ts';
export { type StartedMcpServer, type StartOverrides, startMcpServer } from './start.ts';
export { productTools, serverToolPermissions } from './tools/index.ts';
export { defineTool, type ToolContext, type ToolDefinition, ToolError } from './tools/tool-definition.ts';
export { ToolRegistry } from './tools/tool-registry.ts';

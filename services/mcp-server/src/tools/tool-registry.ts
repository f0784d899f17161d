import type { Identity } from '@mcp-broker/contracts';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { canCall } from '../governance/tool-authorization.ts';
import { portableJsonSchema } from './portable-json-schema.ts';
import type { ToolDefinition } from './tool-definition.ts';

/** Every tool the server offers; adding a tool is registering one module here. */
export class ToolRegistry {
  readonly #tools = new Map<string, ToolDefinition>();
  readonly #descriptions = new Map<string, Tool>();

  constructor(tools: readonly ToolDefinition[] = []) {
    for (const tool of tools) this.register(tool);
  }

  register(tool: ToolDefinition): this {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(tool.name)) throw new Error(`Tool name "${tool.name}" must be snake_case.`);
    if (this.#tools.has(tool.name)) throw new Error(`Tool "${tool.name}" is registered twice.`);
    this.#tools.set(tool.name, tool);
    this.#descriptions.set(tool.name, {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: jsonSchema(tool.inputSchema, 'input') as Tool['inputSchema'],
      outputSchema: jsonSchema(tool.outputSchema, 'output') as Tool['outputSchema'],
      annotations: { title: tool.title, readOnlyHint: tool.readOnly ?? true, openWorldHint: false },
      _meta: {
        'mcp-broker/requiredPermissions': [...tool.requiredPermissions],
        'mcp-broker/timeoutMs': tool.timeoutMs,
      },
    });
    return this;
  }

  get(name: string): ToolDefinition | undefined {
    return this.#tools.get(name);
  }

  all(): ToolDefinition[] {
    return [...this.#tools.values()];
  }

  /** The tools this identity may call; `tools/list` shows only these. */
  listFor(identity: Identity): ToolDefinition[] {
    return this.all().filter((t) => canCall(t.requiredPermissions, identity));
  }

  /** The `tools/list` entry: JSON Schema generated once from the zod schemas. */
  describe(tool: ToolDefinition): Tool {
    return this.#descriptions.get(tool.name) as Tool;
  }

  /** Every permission some tool requires (for `scopes_supported`). */
  permissions(): string[] {
    return [...new Set(this.all().flatMap((t) => t.requiredPermissions))].sort();
  }
}

/** Portable JSON Schema (no type arrays; `portable-schemas.test.ts` guards every node) from zod. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return portableJsonSchema(rest);
}

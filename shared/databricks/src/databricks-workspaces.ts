import type { DatabricksWorkspaceConfig } from '@mcp-broker/broker-config';
import { DatabricksWorkspace } from './databricks-workspace.ts';
import type { WorkspaceTokenOptions } from './workspace-token.ts';

/** The configured workspaces by id, each with its own token cache. */
export class DatabricksWorkspaces {
  readonly #byId: Map<string, DatabricksWorkspace>;

  constructor(workspaces: readonly DatabricksWorkspaceConfig[], options: WorkspaceTokenOptions) {
    this.#byId = new Map(workspaces.map((w) => [w.id, new DatabricksWorkspace(w, options)]));
  }

  find(id: string): DatabricksWorkspace | undefined {
    return this.#byId.get(id);
  }

  get(id: string): DatabricksWorkspace {
    const workspace = this.#byId.get(id);
    if (!workspace) throw new Error(`No Databricks workspace "${id}" is configured.`);
    return workspace;
  }

  list(): DatabricksWorkspace[] {
    return [...this.#byId.values()];
  }
}

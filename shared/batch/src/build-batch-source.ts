import type { BatchSourceConfig } from '@mcp-broker/broker-config';
import type { OrgConnections } from '@mcp-broker/salesforce';
import type { Store } from '@mcp-broker/store';
import type { BatchSource } from './batch-source.ts';
import { CosmosQuerySource } from './cosmos-query-source.ts';

/** The source a schedule names; one case per source kind. */
export function buildBatchSource(config: BatchSourceConfig, deps: { store: Store; orgs: OrgConnections }): BatchSource {
  switch (config.type) {
    case 'cosmos-query':
      return new CosmosQuerySource({
        store: deps.store,
        container: config.container,
        query: config.query,
        parameters: config.parameters,
      });
    case 'salesforce-soql':
      throw new Error('The salesforce-soql source is not built yet.');
    default:
      return config satisfies never;
  }
}

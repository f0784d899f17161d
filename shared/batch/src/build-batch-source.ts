import type { BatchSourceConfig } from '@mcp-broker/broker-config';
import type { OrgConnections } from '@mcp-broker/salesforce';
import type { Store } from '@mcp-broker/store';
import type { BatchSource } from './batch-source.ts';
import { CosmosQuerySource } from './cosmos-query-source.ts';
import { SalesforceSoqlSource } from './salesforce-soql-source.ts';

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
      return new SalesforceSoqlSource({
        org: deps.orgs.get(config.org),
        query: config.query,
        ...(config.bulkAbove === undefined ? {} : { bulkAbove: config.bulkAbove }),
      });
    default:
      return config satisfies never;
  }
}

/**
 * Every Cosmos DB container the product uses, with its partition key. Partition keys follow the
 * access patterns: per-customer reads stay in one partition; audit records partition by caller.
 * `defaultTtl: -1` turns TTL on without expiring anything by default, so per-item `ttl` works.
 */
export const containerDefinitions = {
  customers: { partitionKey: '/id' },
  accounts: { partitionKey: '/customerId' },
  opportunities: { partitionKey: '/customerId' },
  orders: { partitionKey: '/customerId' },
  products: { partitionKey: '/category' },
  cases: { partitionKey: '/customerId' },
  audit: { partitionKey: '/subject', defaultTtl: -1 },
  /** Broker tool-call records: a caller reads only its own, so they partition by caller. */
  toolCalls: { partitionKey: '/caller', defaultTtl: -1 },
  /** Session memory: partitioned by the owning identity, so one identity never reads another's. */
  memories: { partitionKey: '/owner', defaultTtl: -1 },
  /** Generated documents (contracts), keyed by their content-addressed id. */
  documents: { partitionKey: '/id' },
  /** Batch enrichment runs (counts, cursor checkpoint), partitioned like the calls they make. */
  batchRuns: { partitionKey: '/caller', defaultTtl: -1 },
  /** Connector checkpoints (a Salesforce channel's last enqueued replay id), partitioned by org. */
  checkpoints: { partitionKey: '/org' },
} as const satisfies Record<string, { partitionKey: string; defaultTtl?: number }>;

export type ContainerName = keyof typeof containerDefinitions;
export const containerNames = Object.keys(containerDefinitions) as ContainerName[];

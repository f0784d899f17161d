import { type Container, CosmosClient, type CosmosClientOptions, type Database } from '@azure/cosmos';
import { type ContainerName, containerDefinitions, containerNames } from './container-definitions.ts';
import { type EmbeddedCosmos, startEmbeddedCosmos } from './embedded-cosmos.ts';

/** Where the store lives. Without an endpoint, an embedded Cosmos-compatible server is started. */
export interface StoreOptions {
  /** Cosmos DB account endpoint (https://<account>.documents.azure.com:443/). Unset: embedded server. */
  endpoint?: string | undefined;
  /** Account key. Required with `endpoint` unless `aadCredential` is given. */
  key?: string | undefined;
  /** Entra ID credential (from @azure/identity) used instead of a key. */
  aadCredential?: CosmosClientOptions['aadCredentials'];
  /** Database id; created when missing. Default `mcp-broker`. */
  databaseId?: string;
  /** Create the database and containers when missing. Default true. */
  createIfMissing?: boolean;
}

export interface Store {
  readonly client: CosmosClient;
  readonly database: Database;
  /** The endpoint in use (the embedded server's loopback URL when embedded). */
  readonly endpoint: string;
  readonly embedded: boolean;
  container(name: ContainerName): Container;
  /** Cheap round trip used by readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// The embedded server accepts any key; the SDK still wants base64.
const EMBEDDED_KEY = Buffer.from('embedded-cosmos-has-no-key').toString('base64');

export async function createStore(options: StoreOptions = {}): Promise<Store> {
  let embedded: EmbeddedCosmos | undefined;
  let endpoint = options.endpoint;
  if (!endpoint) {
    embedded = await startEmbeddedCosmos();
    endpoint = embedded.endpoint;
  }
  const client = new CosmosClient({
    endpoint,
    ...(embedded
      ? { key: EMBEDDED_KEY }
      : options.aadCredential
        ? { aadCredentials: options.aadCredential }
        : { key: options.key ?? '' }),
    // Discovery redirects to the account's regional https endpoints; a plain-http endpoint is an
    // embedded server in another process (tests, benchmarks), which has no such thing.
    connectionPolicy: { enableEndpointDiscovery: !embedded && endpoint.startsWith('https:') },
  });
  const databaseId = options.databaseId ?? 'mcp-broker';
  const database = client.database(databaseId);
  if (options.createIfMissing ?? true) {
    await client.databases.createIfNotExists({ id: databaseId });
    for (const name of containerNames) {
      const def: { partitionKey: string; defaultTtl?: number } = containerDefinitions[name];
      await database.containers.createIfNotExists({
        id: name,
        partitionKey: { paths: [def.partitionKey] },
        ...(def.defaultTtl === undefined ? {} : { defaultTtl: def.defaultTtl }),
      });
    }
  }
  const containers = new Map<ContainerName, Container>(containerNames.map((n) => [n, database.container(n)]));
  return {
    client,
    database,
    endpoint,
    embedded: embedded !== undefined,
    container(name) {
      const c = containers.get(name);
      if (!c) throw new Error(`Unknown container "${name}"`);
      return c;
    },
    async ping() {
      await database.read();
    },
    async close() {
      client.dispose();
      await embedded?.close();
    },
  };
}

/**
 * One `ServiceBusClient` (one AMQP connection) per namespace and use: receivers share one, senders
 * another. Senders are built without the SDK's own retries: a failed send is a failed write-back
 * attempt, retried by the broker's write-back queue (one retry mechanism, counted on the record),
 * and the SDK would otherwise wait out each ServiceBusy on its own clock.
 */

import {
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { ServiceBusClient, type ServiceBusClientOptions } from '@azure/service-bus';
import { resolveSecret, type ServiceBusNamespace } from '@mcp-broker/broker-config';

export type ClientUse = 'receive' | 'send';

export interface ServiceBusClientsOptions {
  namespaces: readonly ServiceBusNamespace[];
  /** Where connection-string references resolve (main.ts passes process.env). */
  env: Record<string, string | undefined>;
  /** Extra client options (tests shorten timeouts). */
  clientOptions?: ServiceBusClientOptions;
  /** Builds the Entra credential of a namespace. Default: from its `credential` setting. */
  credentialFor?: (namespace: ServiceBusNamespace) => TokenCredential;
}

export class ServiceBusClients {
  readonly #namespaces: ReadonlyMap<string, ServiceBusNamespace>;
  readonly #o: ServiceBusClientsOptions;
  readonly #clients = new Map<string, ServiceBusClient>();

  constructor(options: ServiceBusClientsOptions) {
    this.#o = options;
    this.#namespaces = new Map(options.namespaces.map((n) => [n.id, n]));
  }

  /** The namespace's client for receiving or sending, built on first use (a missing secret throws then). */
  get(namespaceId: string, use: ClientUse): ServiceBusClient {
    const key = `${namespaceId} ${use}`;
    const existing = this.#clients.get(key);
    if (existing) return existing;
    const namespace = this.#namespaces.get(namespaceId);
    // The configuration's cross-check makes this unreachable; say so if it is reached anyway.
    if (!namespace) throw new Error(`serviceBus: no namespace "${namespaceId}"`);
    const options: ServiceBusClientOptions = {
      ...this.#o.clientOptions,
      ...(use === 'send' ? { retryOptions: { ...this.#o.clientOptions?.retryOptions, maxRetries: 0 } } : {}),
    };
    const client =
      namespace.credential.type === 'connection-string'
        ? new ServiceBusClient(resolveSecret(namespace.credential.connectionString, this.#o.env), options)
        : new ServiceBusClient(
            namespace.fullyQualifiedNamespace ?? '',
            (this.#o.credentialFor ?? entraCredential)(namespace),
            options,
          );
    this.#clients.set(key, client);
    return client;
  }

  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map((client) => client.close()));
  }
}

/** The Entra credential a namespace's configuration names. */
export function entraCredential(namespace: ServiceBusNamespace): TokenCredential {
  const credential = namespace.credential;
  switch (credential.type) {
    case 'default':
      return new DefaultAzureCredential();
    case 'workload-identity':
      return new WorkloadIdentityCredential({
        tenantId: credential.tenantId,
        clientId: credential.clientId,
        ...(credential.tokenFilePath ? { tokenFilePath: credential.tokenFilePath } : {}),
      });
    case 'managed-identity':
      return credential.clientId
        ? new ManagedIdentityCredential({ clientId: credential.clientId })
        : new ManagedIdentityCredential();
    case 'connection-string':
      throw new Error(`serviceBus.namespaces[${namespace.id}]: a connection string is not an Entra credential`);
    default:
      return credential satisfies never;
  }
}

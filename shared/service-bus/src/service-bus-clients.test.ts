import { DefaultAzureCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { SecretMissingError } from '@mcp-broker/broker-config';
import { describe, expect, it } from 'vitest';
import { entraCredential, ServiceBusClients } from './service-bus-clients.ts';

const fqns = 'contoso-broker.servicebus.windows.net';

describe('ServiceBusClients', () => {
  it('builds the Entra credential the namespace names', () => {
    expect(entraCredential({ id: 'a', fullyQualifiedNamespace: fqns, credential: { type: 'default' } })).toBeInstanceOf(
      DefaultAzureCredential,
    );
    expect(
      entraCredential({
        id: 'b',
        fullyQualifiedNamespace: fqns,
        credential: { type: 'workload-identity', tenantId: 't', clientId: 'c', tokenFilePath: '/var/run/token' },
      }),
    ).toBeInstanceOf(WorkloadIdentityCredential);
    expect(
      entraCredential({
        id: 'c',
        fullyQualifiedNamespace: fqns,
        credential: { type: 'managed-identity', clientId: 'u' },
      }),
    ).toBeInstanceOf(ManagedIdentityCredential);
  });

  it('an Entra namespace gets a client for its fully qualified namespace; one client per namespace and use', async () => {
    const clients = new ServiceBusClients({
      namespaces: [{ id: 'entra', fullyQualifiedNamespace: fqns, credential: { type: 'managed-identity' } }],
      env: {},
    });
    const receiving = clients.get('entra', 'receive');
    expect(receiving.fullyQualifiedNamespace).toBe(fqns);
    expect(clients.get('entra', 'receive')).toBe(receiving);
    expect(clients.get('entra', 'send')).not.toBe(receiving);
    await clients.close();
  });

  it('a connection string is read from its variable when first used; a missing one names the variable', () => {
    const namespaces = [
      { id: 'sas', credential: { type: 'connection-string' as const, connectionString: { fromEnv: 'SB_SAS' } } },
    ];
    expect(() => new ServiceBusClients({ namespaces, env: {} }).get('sas', 'send')).toThrow(SecretMissingError);
    expect(() => new ServiceBusClients({ namespaces, env: {} }).get('sas', 'send')).toThrow(/SB_SAS/);
    const client = new ServiceBusClients({
      namespaces,
      env: { SB_SAS: `Endpoint=sb://${fqns}/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0` },
    }).get('sas', 'send');
    expect(client.fullyQualifiedNamespace).toBe(fqns);
  });
});

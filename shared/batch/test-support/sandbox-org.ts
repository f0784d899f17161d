/**
 * Shared by this package's tests (not exported): the org connection the broker opens to a
 * Salesforce sandbox, its client secret named by the configuration and read from the environment.
 */

import { salesforceOrgSchema } from '@mcp-broker/broker-config';
import { OrgConnection } from '@mcp-broker/salesforce';
import type { SalesforceSandbox } from '@mcp-broker/salesforce-sandbox';

export function sandboxOrgConnection(sandbox: SalesforceSandbox): OrgConnection {
  return new OrgConnection({
    org: salesforceOrgSchema.parse({
      id: 'acme-org',
      caller: 'acme',
      loginUrl: sandbox.loginUrl,
      apiVersion: sandbox.apiVersion,
      auth: { type: 'client-credentials', clientId: sandbox.clientId, clientSecret: { fromEnv: 'SF_SECRET' } },
    }),
    env: { SF_SECRET: sandbox.clientSecret },
  });
}

import type { BrokerConfig } from './broker-config.ts';
import { eventGridSecretRefs } from './event-grid-config.ts';
import { SecretMissingError } from './secret-ref.ts';
import { serviceBusSecretRefs } from './service-bus-config.ts';

/**
 * Every secret the configuration references must be set when a service starts: a missing variable
 * stops the start naming it, instead of failing calls later.
 */
export function assertSecretsPresent(config: BrokerConfig, env: Record<string, string | undefined>): void {
  const missing = new Set<string>();
  const need = (ref: { fromEnv: string } | undefined) => {
    if (ref && !env[ref.fromEnv]) missing.add(ref.fromEnv);
  };
  for (const endpoint of Object.values(config.endpoints)) need(endpoint.apimSubscriptionKey);
  for (const caller of config.callers) {
    need(caller.callbackSigningSecret);
    const credential = caller.upstream.credential;
    if (credential.type === 'client-credentials') need(credential.clientSecret);
    if (credential.type === 'client-certificate') need(credential.certificatePem);
  }
  for (const org of config.salesforce.orgs) {
    need(org.auth.type === 'client-credentials' ? org.auth.clientSecret : org.auth.privateKey);
  }
  for (const ref of eventGridSecretRefs(config.eventGrid)) need(ref);
  for (const ref of serviceBusSecretRefs(config.serviceBus)) need(ref);
  for (const workspace of config.databricks.workspaces) {
    need(workspace.auth.type === 'oauth-m2m' ? workspace.auth.clientSecret : workspace.auth.token);
  }
  if (missing.size > 0) {
    throw new SecretMissingError(
      `Environment variables referenced by the broker configuration are not set: ${[...missing].sort().join(', ')}.`,
    );
  }
}

import { DeliveryError } from '@mcp-broker/broker';
import type { SalesforceOrgConfig } from '@mcp-broker/broker-config';
import type { SalesforceTarget, WriteBackTarget } from '@mcp-broker/contracts';
import type { OrgConnection } from './org-connection.ts';
import { OrgConnections } from './org-connections.ts';

/** The connected orgs, as the handlers take them: the registry, or a lookup by org id. */
export type SalesforceOrgs = OrgConnections | ((orgId: string) => OrgConnection | undefined);

export const ORG_NOT_ALLOWED = 'SALESFORCE_ORG_NOT_ALLOWED';

/** Why a Salesforce target was refused. */
export interface SalesforceTargetRefusal {
  code: typeof ORG_NOT_ALLOWED;
  message: string;
}

const SALESFORCE_TYPES = new Set(['salesforce-record', 'salesforce-result', 'salesforce-event']);

export const isSalesforceTarget = (target: WriteBackTarget): target is SalesforceTarget =>
  SALESFORCE_TYPES.has(target.type);

// One message whether the org is unknown or another caller's, so a caller cannot probe for orgs.
const notAllowed = (target: SalesforceTarget, callerId: string): SalesforceTargetRefusal => ({
  code: ORG_NOT_ALLOWED,
  message: `The ${target.type} target names Salesforce org "${target.org}", which is not a connected org of caller "${callerId}".`,
});

/**
 * Checks at submission time that a write-back target may be accepted from `callerId`: a
 * Salesforce target's org must be configured with that caller (`salesforce.orgs[].caller`).
 * Returns the refusal, or undefined when the target is fine (other target types always are).
 */
export function checkSalesforceTarget(
  callerId: string,
  target: WriteBackTarget,
  orgs: Iterable<Pick<SalesforceOrgConfig, 'id' | 'caller'>> | OrgConnections,
): SalesforceTargetRefusal | undefined {
  if (!isSalesforceTarget(target)) return undefined;
  const list = orgs instanceof OrgConnections ? orgs.list() : orgs;
  for (const org of list)
    if (org.id === target.org) return org.caller === callerId ? undefined : notAllowed(target, callerId);
  return notAllowed(target, callerId);
}

/** At delivery: the target's org, which must belong to the call's caller (else a permanent error). */
export function orgForTarget(orgs: SalesforceOrgs, target: SalesforceTarget, callerId: string): OrgConnection {
  const org = typeof orgs === 'function' ? orgs(target.org) : orgs.find(target.org);
  if (!org || org.caller !== callerId) {
    throw new DeliveryError('permanent', ORG_NOT_ALLOWED, notAllowed(target, callerId).message);
  }
  return org;
}

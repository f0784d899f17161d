import type { SalesforceOrgConfig } from '@mcp-broker/broker-config';
import { OrgConnection } from './org-connection.ts';
import type { SalesforceLogger } from './salesforce-logger.ts';

export interface OrgConnectionsOptions {
  /** The configured orgs (`salesforce.orgs`). */
  orgs: readonly SalesforceOrgConfig[];
  /** Where secret references are resolved. */
  env: Record<string, string | undefined>;
  /** Passed to every `OrgConnection`. Default: silent. */
  logger?: SalesforceLogger;
}

/** The connected orgs by id, each an `OrgConnection` that logs in on first use. */
export class OrgConnections {
  readonly #byId = new Map<string, OrgConnection>();

  constructor(options: OrgConnectionsOptions) {
    for (const org of options.orgs) {
      if (this.#byId.has(org.id)) throw new Error(`Salesforce org "${org.id}" is configured twice.`);
      this.#byId.set(org.id, new OrgConnection({ org, env: options.env, logger: options.logger }));
    }
  }

  /** The org's connection; throws for an org that is not configured. */
  get(orgId: string): OrgConnection {
    const org = this.#byId.get(orgId);
    if (!org) {
      const known = [...this.#byId.keys()].join(', ') || 'none';
      throw new Error(`No Salesforce org "${orgId}" is configured (configured: ${known}).`);
    }
    return org;
  }

  /** The org's connection, or undefined for an org that is not configured. */
  find(orgId: string): OrgConnection | undefined {
    return this.#byId.get(orgId);
  }

  /** Every configured org: `{ id, caller }`, as `checkSalesforceTarget` takes them. */
  list(): { id: string; caller: string }[] {
    return [...this.#byId.values()].map((org) => ({ id: org.id, caller: org.caller }));
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#byId.values()].map((org) => org.close()));
  }
}
